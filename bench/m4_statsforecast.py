"""StatsForecast's AutoETS, AutoTheta and MSTL on M4 Hourly, the statistical bar beside the Bi-LSTM: each
series' last 48 steps forecast from the rest (the windows of bench/m4.py and bench/m4_baselines.py), season
length 24 (MSTL: 24 and 168), scored with M4's sMAPE, MASE and OWA (bench/m4_series.py, `bilstm.m4`) beside
seasonal naive and Naive2, with each model's wall time.

StatsForecast runs in the benchmarks' own venv and process (`bench/compare_env.py`, installed there on the
first run). Its SeasonalNaive is run too, as a check: its forecasts must equal bench/m4_series.py's seasonal
naive, which shows both sides cut the same windows.

    python bench/m4_long.py                                  # once: bench/results/m4-hourly-long.csv
    python bench/m4_statsforecast.py                         # table + bench/m4-statsforecast.json
    python bench/m4_statsforecast.py --series 20             # a quick check of the whole path
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

import compare_env
import m4_series
import numpy as np
import pandas as pd
from m4_baselines import HORIZON, PERIOD, held_out, summary

BENCH = Path(__file__).resolve().parent
SUMMARY = BENCH / "m4-statsforecast.json"
MODELS = ["AutoETS", "AutoTheta", "MSTL", "SeasonalNaive"]
CHECK = "SeasonalNaive"  # must match m4_series' seasonal naive to the runner's rounding


def forecasts_of(frame: pd.DataFrame, args: argparse.Namespace) -> dict:
    """The runner's answer for the in-samples of `frame` (the long table, last `HORIZON` rows held out)."""
    status = compare_env.ensure(["statsforecast"])["statsforecast"]
    if status is not None:
        raise SystemExit(f"statsforecast is not available: {status}")
    last = frame.groupby("unique_id").cumcount(ascending=False) < HORIZON
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "insample.csv"
        frame[~last].to_csv(csv, index=False)
        payload = {
            "csv": str(csv),
            "models": args.models,
            "horizon": HORIZON,
            "season_length": PERIOD,
            "n_jobs": args.n_jobs,
        }
        result = compare_env.run("statsforecast_m4.py", payload)
    if result.output is None:
        raise SystemExit(f"the StatsForecast runner failed: {result.error}")
    return result.output | {"wall_seconds": result.wall_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BENCH / "results" / "m4-hourly-long.csv")
    parser.add_argument("--series", type=int, default=None, help="only the first N series (a quick check)")
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--n-jobs", type=int, default=1, help="StatsForecast's processes (default: 1)")
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: make it with `python bench/m4_long.py`")
    table = pd.read_csv(args.data).sort_values(["unique_id", "ds"], ignore_index=True)
    if args.series:
        table = table[table["unique_id"].isin(table["unique_id"].unique()[: args.series])]
    answer = forecasts_of(table, args)
    library = answer["models"]

    rows, check_gap = [], 0.0
    for unique_id, insample, truth in held_out(table, HORIZON):
        forecasts = {
            "sNaive": m4_series.seasonal_naive_forecast(insample, HORIZON, PERIOD),
            "Naive2": m4_series.naive2_forecast(insample, HORIZON, PERIOD),
            **{name: np.asarray(library[name]["forecast"][unique_id], dtype=np.float64) for name in library},
        }
        if CHECK in library:
            check_gap = max(check_gap, float(np.max(np.abs(forecasts[CHECK] - forecasts["sNaive"]))))
        rows.append({"unique_id": unique_id, **m4_series.series_scores(insample, truth, forecasts, PERIOD)})
    means = summary(pd.DataFrame(rows), ["sNaive", "Naive2", *library])

    print(f"M4 Hourly, last {HORIZON} steps of {len(rows)} series; statsforecast {answer['version']}")
    print(f"{'method':<14} {'sMAPE':>7} {'MASE':>7} {'OWA':>7} {'wall s':>7} {'n_jobs':>6}")
    results = {}
    for name, row in means.iterrows():
        seconds = library[name]["seconds"] if name in library else None
        results[name] = {"smape": row.smape, "mase": row.mase, "owa": row.owa}
        cost = ""
        if seconds is not None:
            results[name]["seconds"] = seconds
            cost = f"{seconds:7.1f} {args.n_jobs:6d}"
        print(f"{name:<14} {row.smape:7.3f} {row.mase:7.3f} {row.owa:7.3f} {cost}")
    if CHECK in library:
        print(f"{CHECK} against m4_series' seasonal naive: largest difference {check_gap:.2g}")
    summary_json = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python bench/m4_statsforecast.py", *sys.argv[1:]]),
        "statsforecast": answer["version"],
        "n_jobs": args.n_jobs,
        "series": len(rows),
        "horizon": HORIZON,
        "season_length": PERIOD,
        "runner_wall_seconds": answer["wall_seconds"],
        "seasonal_naive_check_gap": check_gap if CHECK in library else None,
        "results": results,
    }
    SUMMARY.write_text(json.dumps(summary_json, indent=2) + "\n")
    print(f"written to {SUMMARY}")


if __name__ == "__main__":
    main()
