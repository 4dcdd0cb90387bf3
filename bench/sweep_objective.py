"""Does the sweep's objective rank configs as the test windows do? Scores the hand-picked `etth1-s96`
preset and the best configs of the sweeps recorded in a bench/sweep.py JSON on the sweep's folds (the
objective a trial gets) and, trained on the whole train split, on the test windows (what the retrained best
is judged on), with the same seed.

    python bench/sweep_objective.py                      # the bests in bench/sweep.json
    python bench/sweep_objective.py --sweeps old.json    # another bench/sweep.py run's bests

Prints a table and writes bench/sweep-objective.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

from bilstm import pipeline
from bilstm.backtest import run_fold
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import SeriesTable, load_table
from bilstm.defaults import resolve
from bilstm.folds import BacktestOptions, plan_folds
from deployments.config_layers import build_config

PRESET = "etth1-s96"


def score(series: SeriesTable, config: PipelineConfig, folds: int) -> dict:
    started = time.perf_counter()
    fold_mse = [
        run_fold(series, config, fold).evaluation.metrics["test_mse_scaled"]
        for fold in plan_folds(series, config, BacktestOptions(folds=folds), before_test=True)[1]
    ]
    _, _, evaluation = pipeline.run(config, progress=False)  # trained on the whole train split
    return {
        "fold_mse": fold_mse,
        "objective": statistics.fmean(fold_mse),
        "test_mse": evaluation.metrics["test_mse_scaled"],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweeps", type=Path, default=Path(__file__).with_name("sweep.json"))
    parser.add_argument("--folds", type=int, default=2, help="the sweep's --folds")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("sweep-objective.json"))
    args = parser.parse_args()
    base = build_config(None, {}, [], preset=PRESET)
    series = load_table(base.data)
    candidates = {"preset": {}}
    for k, run in enumerate(json.loads(args.sweeps.read_text())["runs"]):
        if run["best_config"] not in candidates.values():
            candidates[f"sweep {k} best (workers {run['workers']})"] = run["best_config"]
    rows = []
    for name, values in candidates.items():
        config = resolve(with_overrides(base, values), series).config
        rows.append({"config": name, "values": values} | score(series, config, args.folds))
        print(f"  {name}: {rows[-1]}", file=sys.stderr, flush=True)
    print(f"{PRESET}: objective = mean MSE of {args.folds} sweep folds; test = trained on the train split")
    print(f"{'config':<28}{'objective':>10}{'test MSE':>10}  fold MSE")
    for row in sorted(rows, key=lambda row: row["objective"]):
        folds = " / ".join(f"{mse:.4f}" for mse in row["fold_mse"])
        print(f"{row['config']:<28}{row['objective']:>10.4f}{row['test_mse']:>10.4f}  {folds}")
    ranks = [row["config"] for row in sorted(rows, key=lambda row: row["objective"])]
    agree = ranks[0] == min(rows, key=lambda row: row["test_mse"])["config"]
    print(f"the objective's best is {'also' if agree else 'not'} the test windows' best")
    args.json.write_text(
        json.dumps(
            {
                "date": datetime.date.today().isoformat(),
                "command": " ".join(["python bench/sweep_objective.py", *sys.argv[1:]]),
                "sweeps": str(args.sweeps),
                "folds": args.folds,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
