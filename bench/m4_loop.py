"""The retrain loop on M4 Hourly's 414 series, as a user runs it: `bilstm train`, `bilstm monitor` on a clean
copy and on a copy where 20 series drift (x1.8 + 5 on their last week), `bilstm backtest --folds 2` and a
3-trial `bilstm sweep`, all with the `m4-hourly` preset on the long table of bench/m4_long.py, in one fresh
directory (its own MLflow store and temporary Prefect server). Prints each command's wall time and outcome,
and whether the monitor named the drifted series; writes bench/m4-loop.json.

    python bench/m4_long.py && python bench/m4_loop.py            # about 40 minutes on 2 busy cores
    python bench/m4_loop.py --series 20 --epochs 1 --trials 2     # a smoke run on the first 20 series
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from m4_long import OUT as LONG_TABLE

BENCH = Path(__file__).resolve().parent
SUMMARY = BENCH / "m4-loop.json"
BILSTM = str(Path(sys.executable).with_name("bilstm"))
DRIFTED, WEEK = 20, 168


def drifted_copy(table: pd.DataFrame, count: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """The table with `count` series, drawn with `seed`, changed on their last week: y * 1.8 + 5."""
    ids = np.random.default_rng(seed).choice(table["unique_id"].unique(), size=count, replace=False)
    copy = table.copy()
    last_week = copy.groupby("unique_id").cumcount(ascending=False) < WEEK
    changed = copy["unique_id"].isin(ids) & last_week
    copy.loc[changed, "y"] = copy.loc[changed, "y"] * 1.8 + 5
    return copy, sorted(ids)


def run(argv: list[str], folder: Path) -> dict:
    """One `bilstm` command with --json in `folder`: its wall seconds, exit code and parsed summary."""
    env = dict(os.environ, PREFECT_HOME=str(folder / ".prefect"), BILSTM_HOME=str(folder / ".bilstm"))
    for variable in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI"):
        env.pop(variable, None)
    print("$ bilstm " + " ".join(argv), flush=True)
    started = time.perf_counter()
    done = subprocess.run([BILSTM, *argv, "--json"], cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        summary = None
    if done.returncode != 0:
        print(done.stderr[-3000:], flush=True)
    print(f"  exit {done.returncode} in {seconds:.0f} s", flush=True)
    return {"argv": argv, "seconds": round(seconds, 1), "exit": done.returncode, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=LONG_TABLE, help="the long table (default: %(default)s)")
    parser.add_argument("--series", type=int, default=None, help="only the first N series (a smoke run)")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="draws the drifted series")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"{args.data} is missing: run `python bench/m4_long.py` first")
    table = pd.read_csv(args.data)
    if args.series is not None:
        table = table[table["unique_id"].isin(table["unique_id"].unique()[: args.series])]
    drifted, drifted_ids = drifted_copy(table, min(DRIFTED, table["unique_id"].nunique() // 2), args.seed)
    common = ["--preset", "m4-hourly"] + ([] if args.epochs is None else ["--epochs", str(args.epochs)])
    model = "models:/bilstm-m4-hourly@champion"
    steps: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="m4-loop-") as name:
        folder = Path(name)
        table.to_csv(folder / "m4.csv", index=False)
        drifted.to_csv(folder / "m4-drifted.csv", index=False)
        steps["train"] = run(["train", *common, "--data", "m4.csv"], folder)
        steps["monitor clean"] = run(["monitor", "--model", model, "--data", "m4.csv"], folder)
        steps["monitor drifted"] = run(["monitor", "--model", model, "--data", "m4-drifted.csv"], folder)
        steps["backtest"] = run(["backtest", *common, "--data", "m4.csv", "--folds", str(args.folds)], folder)
        sweep = [
            "sweep",
            *common,
            "--data",
            "m4.csv",
            "--trials",
            str(args.trials),
            "--folds",
            str(args.folds),
        ]
        steps["sweep"] = run(sweep, folder)

    named = set((steps["monitor drifted"]["summary"] or {}).get("degraded_series") or [])
    false_alarms = set((steps["monitor clean"]["summary"] or {}).get("degraded_series") or [])
    detection = {
        "drifted": drifted_ids,
        "named": sorted(named),
        "drifted_named": len(named & set(drifted_ids)),
        "others_named": len(named - set(drifted_ids)),
        "named_on_clean_copy": sorted(false_alarms),
        "worst_series": (steps["monitor drifted"]["summary"] or {}).get("worst_series"),
    }
    print(f"\nM4 Hourly, {table['unique_id'].nunique()} series, {len(table)} rows")
    print(f"{'command':<18}{'exit':>6}{'seconds':>10}  outcome")
    for step, result in steps.items():
        summary = result["summary"] or {}
        outcome = {
            "train": lambda s: f"test OWA {s.get('metrics', {}).get('test_owa', float('nan')):.3f}",
            "backtest": lambda s: f"mean OWA {s.get('metrics', {}).get('mean_test_owa', float('nan')):.3f}",
            "sweep": lambda s: f"best value {s.get('best_value', float('nan')):.4f}",
        }.get(step, lambda s: f"degraded {s.get('degraded')}, {s.get('degraded_series_count', 0)} series")
        print(
            f"{step:<18}{result['exit']:>6}{result['seconds']:>10.0f}  {outcome(summary) if summary else '-'}"
        )
    print(
        f"monitor named {detection['drifted_named']} of the {len(drifted_ids)} drifted series and "
        f"{detection['others_named']} others (clean copy: {len(false_alarms)})"
    )
    record = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "series": int(table["unique_id"].nunique()),
        "steps": steps,
        "detection": detection,
    }
    SUMMARY.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(f"written to {SUMMARY}")


if __name__ == "__main__":
    main()
