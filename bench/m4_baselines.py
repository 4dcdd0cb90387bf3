"""M4 Hourly's naive baselines on the last 48 steps of each training series: seasonal naive and Naive2 (M4's
definitions, `bilstm.m4`), each forecasting a series' last 48 values from the rest; sMAPE and MASE averaged
over series and OWA against Naive2, beside M4's published figures on the real test part (the next 48 steps,
not shipped here: a different window, so only the same range is expected).

    python bench/m4_long.py            # once: the long table, bench/results/m4-hourly-long.csv
    python bench/m4_baselines.py       # table + bench/m4-baselines.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import m4_series
import numpy as np
import pandas as pd

from bilstm import m4

RESULTS = Path(__file__).resolve().parent / "results"
HORIZON, PERIOD = 48, 24
# M4's "Evaluation and Ranks" table, hourly, on the official test part (see ../shared/data/m4/README.md)
PUBLISHED = {"Naive2": (18.383, 2.395, 1.000), "sNaive": (13.912, 1.193, 0.627)}


def held_out(table: pd.DataFrame, horizon: int) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(unique_id, in-sample, last `horizon` values) of every series of a long table sorted by (id, ds)."""
    for unique_id, series in table.groupby("unique_id", sort=True):
        y = series["y"].to_numpy(dtype=np.float64)
        yield str(unique_id), y[:-horizon], y[-horizon:]


def summary(scores: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per-series `{name}_smape` / `{name}_mase` columns -> one row per name: mean sMAPE, mean MASE, OWA."""
    means = scores.mean(numeric_only=True)
    rows = {
        name: {
            "smape": means[f"{name}_smape"],
            "mase": means[f"{name}_mase"],
            "owa": m4.owa(
                means[f"{name}_smape"], means[f"{name}_mase"], means["Naive2_smape"], means["Naive2_mase"]
            ),
        }
        for name in names
    }
    return pd.DataFrame.from_dict(rows, orient="index")


BASELINES: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "sNaive": m4_series.seasonal_naive_forecast,
    "Naive2": m4_series.naive2_forecast,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=RESULTS / "m4-hourly-long.csv", help="the long table")
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: make it with `python bench/m4_long.py`")
    rows, seasonal = [], 0
    for unique_id, insample, truth in held_out(pd.read_csv(args.data), HORIZON):
        forecasts = {name: forecast(insample, HORIZON, PERIOD) for name, forecast in BASELINES.items()}
        seasonal += m4.seasonality_detected(insample, PERIOD)
        rows.append({"unique_id": unique_id, **m4_series.series_scores(insample, truth, forecasts, PERIOD)})
    means = summary(pd.DataFrame(rows), list(BASELINES))
    print(f"M4 Hourly, last {HORIZON} steps of {len(rows)} series ({seasonal} pass the seasonality test)")
    print(f"{'method':<8} {'sMAPE':>7} {'MASE':>7} {'OWA':>7}   M4 test part: sMAPE   MASE    OWA")
    for name, row in means.iterrows():
        ours = f"{row.smape:7.3f} {row.mase:7.3f} {row.owa:7.3f}"
        smape, mase, owa = PUBLISHED[name]
        print(f"{name:<8} {ours}   {smape:18.3f} {mase:6.3f} {owa:6.3f}")
    out = Path(__file__).resolve().with_name("m4-baselines.json")
    result = {"series": len(rows), "seasonal": int(seasonal), **means.to_dict("index")}
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
