"""StatsForecast runner for bench/m4_statsforecast.py (comparison venv): each model fitted per series on the
in-samples of a long table and forecasting the next `horizon` steps, one model at a time so each is timed
on its own.

stdin: {"csv", "models", "horizon", "season_length", "n_jobs"}.
stdout (last line): {"library", "version", "models": {name: {"seconds", "forecast": {unique_id: [values]}}}}.
"""

from __future__ import annotations

import time

import pandas as pd
import statsforecast
from common import answer, log, read_payload, rounded
from statsforecast import StatsForecast
from statsforecast.models import MSTL, AutoETS, AutoTheta, SeasonalNaive


def new_model(name: str, season_length: int):
    models = {
        "AutoETS": lambda: AutoETS(season_length=season_length),
        "AutoTheta": lambda: AutoTheta(season_length=season_length),
        # the daily and the weekly cycle, its trend by AutoETS (the library's default)
        "MSTL": lambda: MSTL(season_length=[season_length, 7 * season_length]),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season_length),
    }
    return models[name]()


def run_model(name: str, frame: pd.DataFrame, payload: dict) -> dict:
    forecaster = StatsForecast(
        models=[new_model(name, payload["season_length"])], freq="h", n_jobs=payload["n_jobs"]
    )
    started = time.perf_counter()
    predicted = forecaster.forecast(df=frame, h=payload["horizon"])
    seconds = time.perf_counter() - started
    log(f"statsforecast {name}: {seconds:.0f} s")
    by_series = predicted.sort_values(["unique_id", "ds"]).groupby("unique_id")[name]
    forecast = {str(unique_id): rounded(values.to_numpy()) for unique_id, values in by_series}
    return {"seconds": seconds, "forecast": forecast}


def main() -> None:
    payload = read_payload()
    frame = pd.read_csv(payload["csv"], parse_dates=["ds"])[["unique_id", "ds", "y"]]
    models = {name: run_model(name, frame, payload) for name in payload["models"]}
    answer({"library": "statsforecast", "version": statsforecast.__version__, "models": models})


if __name__ == "__main__":
    main()
