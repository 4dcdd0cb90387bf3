"""NeuralForecast's `LSTM` and `NHITS` on M4 Hourly, each trained as one global model on every series minus
its last 48 steps and forecasting those 48 steps: sMAPE, MASE and OWA (`bilstm.m4`) beside seasonal naive
and Naive2 on the same steps, and the training time.

NeuralForecast never becomes a project dependency: run by any Python, the script makes its own venv
(`bench/.venv-nf`, gitignored; `torch==2.13.0` pinned with it so pip keeps the CPU build instead of fetching
a CUDA one), installs `neuralforecast` there once, and runs itself again with that venv's Python. It reads
`bilstm.m4` from the repository (numpy only).

    python bench/m4_long.py             # once: the long table, bench/results/m4-hourly-long.csv
    python bench/m4_neuralforecast.py   # table + bench/m4-neuralforecast.json; forecasts in bench/results/
    python bench/m4_neuralforecast.py --series 20 --max-steps 5    # a quick check of the whole path

Each model trains for `--minutes` of wall-clock time (default 5) or `--max-steps`, whichever comes first.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPOSITORY = BENCH.parent
VENV = BENCH / ".venv-nf"
REQUIREMENTS = ["torch==2.13.0", "neuralforecast==3.3.0"]
HORIZON, PERIOD = 48, 24


def in_own_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def run_in_own_venv() -> None:
    """Make the venv and install NeuralForecast there if it is not yet importable, then replace this process
    with the same command under the venv's Python."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if subprocess.run([str(python), "-c", "import neuralforecast"], capture_output=True).returncode != 0:
        print(f"installing {' '.join(REQUIREMENTS)} into {VENV} (once)", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    os.execv(python, [str(python), __file__, *sys.argv[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BENCH / "results" / "m4-hourly-long.csv")
    parser.add_argument("--series", type=int, default=None, help="only the first N series (a quick check)")
    parser.add_argument("--input-size", type=int, default=168, help="lookback rows (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=5.0, help="training time of each model (default: 5)")
    parser.add_argument("--max-steps", type=int, default=5000, help="optimiser steps of each model at most")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: make it with `python bench/m4_long.py`")
    if not in_own_venv():
        run_in_own_venv()
    compare(args)


def new_models(args: argparse.Namespace) -> list:
    from neuralforecast.models import LSTM, NHITS

    shared = {
        "h": HORIZON,
        "input_size": args.input_size,
        # each window scaled by its own median and IQR: series range from tens to tens of thousands
        "scaler_type": "robust",
        # a wall-clock budget (Lightning's `max_time`) rather than a step count: a step costs seconds on this
        # shared 2-core machine, and how many depends on its load; the steps reached are reported
        "max_steps": args.max_steps,
        "max_time": {"minutes": args.minutes},
        "random_seed": args.seed,
        "accelerator": "cpu",
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "logger": False,
    }
    return [LSTM(**shared), NHITS(**shared)]


def compare(args: argparse.Namespace) -> None:
    import logging
    import warnings

    import neuralforecast
    import numpy as np
    import pandas as pd
    import torch
    from neuralforecast import NeuralForecast

    sys.path.insert(0, str(REPOSITORY))
    import m4_series

    from bilstm import m4

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    table = pd.read_csv(args.data, parse_dates=["ds"]).sort_values(["unique_id", "ds"], ignore_index=True)
    if args.series:
        table = table[table["unique_id"].isin(table["unique_id"].unique()[: args.series])]
    last = table.groupby("unique_id").cumcount(ascending=False) < HORIZON
    train, test = table[~last], table[last]

    models = new_models(args)
    names = [type(model).__name__ for model in models]
    # the held-out steps, their truth `y`, then a column per model
    forecasts, seconds = test.reset_index(drop=True), {}
    for name, model in zip(names, models, strict=True):
        forecaster = NeuralForecast(models=[model], freq="h")
        started = time.perf_counter()
        forecaster.fit(train)
        # (step, loss) of every optimiser step
        seconds[name] = {
            "fit": time.perf_counter() - started,
            "steps": forecaster.models[0].train_trajectories[-1][0] + 1,
        }
        started = time.perf_counter()
        predicted = forecaster.predict()
        seconds[name]["predict"] = time.perf_counter() - started
        forecasts = forecasts.merge(predicted[["unique_id", "ds", name]], on=["unique_id", "ds"], how="left")
        if forecasts[name].isna().any():
            raise SystemExit(f"{name} gave no forecast for some held-out steps")
        print(f"{name}: {seconds[name]['steps']} steps, fit {seconds[name]['fit']:.0f} s", flush=True)

    rows = []
    for (_, history), (_, future) in zip(
        train.groupby("unique_id"), forecasts.groupby("unique_id"), strict=True
    ):
        insample, truth = history["y"].to_numpy(np.float64), future["y"].to_numpy(np.float64)
        candidates = {
            "sNaive": m4_series.seasonal_naive_forecast(insample, HORIZON, PERIOD),
            "Naive2": m4_series.naive2_forecast(insample, HORIZON, PERIOD),
            **{name: future[name].to_numpy(np.float64) for name in names},
        }
        rows.append(m4_series.series_scores(insample, truth, candidates, PERIOD))
    means = pd.DataFrame(rows).mean()
    results = {}
    print(
        f"M4 Hourly, last {HORIZON} steps of {len(rows)} series; neuralforecast {neuralforecast.__version__}"
    )
    print(f"{'method':<8} {'sMAPE':>7} {'MASE':>7} {'OWA':>7} {'fit s':>7} {'steps':>6}")
    for name in ["sNaive", "Naive2", *names]:
        smape, mase = means[f"{name}_smape"], means[f"{name}_mase"]
        owa = m4.owa(smape, mase, means["Naive2_smape"], means["Naive2_mase"])
        trained = seconds.get(name)
        results[name] = {"smape": smape, "mase": mase, "owa": owa, **(trained or {})}
        cost = f"{trained['fit']:7.0f} {trained['steps']:6d}" if trained else ""
        print(f"{name:<8} {smape:7.3f} {mase:7.3f} {owa:7.3f} {cost}")
    out = BENCH / "results" / "m4-neuralforecast.csv"
    out.parent.mkdir(exist_ok=True)
    forecasts.to_csv(out, index=False)
    summary = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python bench/m4_neuralforecast.py", *sys.argv[1:]]),
        "neuralforecast": neuralforecast.__version__,
        "torch": torch.__version__,
        "threads": args.threads,
        "series": len(rows),
        "input_size": args.input_size,
        "minutes": args.minutes,
        "max_steps": args.max_steps,
        "results": results,
    }
    (BENCH / "m4-neuralforecast.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"forecasts written to {out}, summary to {BENCH / 'm4-neuralforecast.json'}")


if __name__ == "__main__":
    main()
