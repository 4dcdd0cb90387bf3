"""NeuralForecast runner for bench/epf.py (comparison venv): each model (NHITS, NBEATSx) fitted once on every
market's rows before the last `n_windows` days and forecasting each of those days from the actual history and
the day's future columns (`cross_validation`, `step_size` = horizon, `refit=False`).

stdin: {"csv", "models", "futr_exog", "horizon", "input_size", "n_windows", "max_steps", "seed", "threads"}.
stdout (last line): {"library", "version", "models": {name: {"seconds", "steps", "forecast"}}}, the forecast
as [unique_id, ds, value] rows.
"""

from __future__ import annotations

import logging
import time
import warnings

import neuralforecast
import pandas as pd
import torch
from common import answer, log, read_payload
from neuralforecast import NeuralForecast
from neuralforecast.models import NHITS, NBEATSx

MODELS = {"NHITS": NHITS, "NBEATSx": NBEATSx}


def run_model(name: str, frame: pd.DataFrame, payload: dict) -> dict:
    model = MODELS[name](
        h=payload["horizon"],
        input_size=payload["input_size"],
        futr_exog_list=payload["futr_exog"],
        # each window scaled by its own median and deviation, covariates too: load is in tens of thousands
        scaler_type="robust",
        max_steps=payload["max_steps"],
        random_seed=payload["seed"],
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
    )
    forecaster = NeuralForecast(models=[model], freq="h")
    started = time.perf_counter()
    result = forecaster.cross_validation(
        frame, n_windows=payload["n_windows"], step_size=payload["horizon"], refit=False
    )
    seconds = time.perf_counter() - started
    trained = forecaster.models[0].train_trajectories  # (step, loss) of every optimiser step
    steps = trained[-1][0] + 1 if trained else 0
    log(f"neuralforecast {name}: {steps} steps, {seconds:.0f} s")
    rows = result[["unique_id", "ds", name]].astype({"ds": str})
    return {"seconds": seconds, "steps": steps, "forecast": rows.values.tolist()}


def main() -> None:
    payload = read_payload()
    torch.set_num_threads(payload["threads"])
    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    frame = pd.read_csv(payload["csv"], parse_dates=["ds"])[["unique_id", "ds", "y", *payload["futr_exog"]]]
    models = {name: run_model(name, frame, payload) for name in payload["models"]}
    answer({"library": "neuralforecast", "version": neuralforecast.__version__, "models": models})


if __name__ == "__main__":
    main()
