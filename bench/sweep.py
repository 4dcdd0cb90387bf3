"""Hyperparameter sweeps on `etth1-s96`: `bilstm sweep --trials N --workers W --json` (the default search
space, Optuna's TPE sampler and median pruner, each trial scored on 2 rolling-origin folds before the test
split, the best config retrained and scored once on the test windows) at 1 and 2 workers: wall time, the
best validation (mean fold MSE, scaled), the retrained model's test MSE (scaled) and the trials pruned,
beside the hand-picked preset's test MSE and the linear floor (`bench/accuracy.json`).

    python bench/sweep.py                               # 20 trials at 1 and 2 workers, once each
    python bench/sweep.py --repeats 2                   # twice each, alternating (the README's table)
    python bench/sweep.py --repeats 2 --replay          # the 2-worker runs replay the 1-worker runs' trials
    python bench/sweep.py --trials 2 --epochs 1         # a quick check of the whole path

Every command runs in a fresh directory (its own MLflow SQLite store and `optuna.db` beside it) against one
Prefect server started here, so that no run pays for a temporary server; the worker counts alternate, so
load on the shared machine hits both alike. Each run's seconds are split, from the trials' own timestamps in
`optuna.db`, into start-up (the command's start to the first trial: imports, ingest, the local Dask cluster
for W > 1), trials (first trial start to last trial end) and after (the best config's retrain, scoring,
registration, the plots, exit: serial). The worker counts draw different trials (TPE reads the trials that
ended, and pruning depends on their order), so their work differs; `--replay` queues the first worker
count's trials, values in order, in the later counts' studies, so every count runs the same values. Before
the sweeps, one trial's folds are timed on 1 and 2 torch threads. The results go to bench/sweep.json.

NeuralForecast's `AutoLSTM` on the same trial budget: bench/sweep_neuralforecast.py (its own venv), which
prints its row beside these from bench/sweep.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import optuna
from overhead import prefect_server

from bilstm.backtest import train_fold
from bilstm.config import with_overrides
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.folds import BacktestOptions, plan_folds
from bilstm.sweep import make_study
from bilstm.sweep_space import SearchSpace
from deployments.config_layers import build_config
from deployments.malloc_tuning import with_tuned_malloc

BILSTM = str(Path(sys.executable).with_name("bilstm"))
ACCURACY = Path(__file__).with_name("accuracy.json")
PRESET = "etth1-s96"


def references(preset: str) -> dict:
    """The hand-picked preset's test MSE (mean of bench/accuracy.py's seeds), the linear floor (the ridge
    on last-value-normalised windows: the preset's warm start) and persistence, from bench/accuracy.json."""
    rows = {row["preset"]: row for row in json.loads(ACCURACY.read_text())["rows"]}
    row = rows[preset]
    return {
        "preset_test_mse": row["mse_mean"],
        "preset_epochs": sorted({run["epochs"] for run in row["runs"]}),
        "linear_floor": row["ridge_last_value"],
        "persistence": row["persistence"],
        "date": json.loads(ACCURACY.read_text())["date"],
    }


def trial_timings(study_db: Path) -> dict:
    """From `optuna.db`: each finished trial's start and end (local time, as Optuna writes them) and the
    process that ran it (the `worker` user attribute each trial sets)."""
    with sqlite3.connect(study_db) as db:
        rows = db.execute(
            "SELECT t.number, t.state, t.datetime_start, t.datetime_complete, a.value_json FROM trials t"
            " LEFT JOIN trial_user_attributes a ON a.trial_id = t.trial_id AND a.key = 'worker'"
            " WHERE t.datetime_complete IS NOT NULL ORDER BY t.number"
        ).fetchall()
    trials = [
        {
            "number": number,
            "state": state,
            "start": datetime.datetime.fromisoformat(start),
            "end": datetime.datetime.fromisoformat(end),
            "worker": json.loads(worker) if worker else "?",
        }
        for number, state, start, end, worker in rows
    ]  # fmt: skip
    busy: dict[str, float] = defaultdict(float)
    for trial in trials:
        busy[trial["worker"]] += (trial["end"] - trial["start"]).total_seconds()
    return {"trials": trials, "busy_s": dict(busy)}


def queue_trials(home: Path, values: list[dict]) -> None:
    """A study in `home`'s `optuna.db`, under the name and space the command uses, holding `values` as
    queued trials: the command runs them first, in order, instead of drawing its own."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = build_config(None, {}, [], preset=PRESET)
    name = f"{config.registry.model_name}-sweep"
    study = make_study(name, f"sqlite:///{home / 'optuna.db'}", SearchSpace.default(), config.train.seed)
    for params in values:
        study.enqueue_trial(params)


def trial_values(home: Path, study: str) -> list[dict]:
    """The values of each trial the study in `home` ran, in trial order."""
    trials = optuna.load_study(study_name=study, storage=f"sqlite:///{home / 'optuna.db'}").trials
    return [trial.params for trial in trials]


def thread_scaling() -> dict:
    """One trial's folds (the preset's values), trained with 1 and with 2 torch threads: the speed a
    1-worker sweep's trials get from the second core, which 2 single-threaded workers give up."""
    base = build_config(None, {}, [], preset=PRESET)
    series = load_table(base.data)
    seconds = {}
    for threads in (1, 2):
        config = resolve(with_overrides(base, {"train.threads": threads}), series).config
        started = time.perf_counter()
        for fold in plan_folds(series, config, BacktestOptions(folds=2), before_test=True)[1]:
            train_fold(series, config, fold)
        seconds[threads] = time.perf_counter() - started
    return {"1_thread_s": seconds[1], "2_threads_s": seconds[2], "speedup": seconds[1] / seconds[2]}


def run_sweep(
    home: Path, env: dict, trials: int, workers: int, epochs: int | None, replay: list[dict] | None = None
) -> dict:
    """`bilstm sweep --preset etth1-s96 --trials N --workers W --json` in `home` (with `replay`, the
    trials of another run queued first): its seconds, split into start-up, trials and after, its summary
    and its trials' values."""
    home.mkdir()
    if replay:
        queue_trials(home, replay)
    command = [BILSTM, "sweep", "--preset", PRESET, "--trials", str(trials), "--workers", str(workers)]
    command += ["--json"] + ([] if epochs is None else ["--epochs", str(epochs)])
    load_before = os.getloadavg()[0]
    began = datetime.datetime.now()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=home, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    ended = began + datetime.timedelta(seconds=seconds)
    if done.returncode != 0:
        raise RuntimeError(
            f"bilstm sweep --workers {workers} failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    timings = trial_timings(home / "optuna.db")
    first = min(t["start"] for t in timings["trials"])
    last = max(t["end"] for t in timings["trials"])
    row = {
        "workers": workers,
        "command_s": seconds,
        "flow_s": summary["wall_seconds"],
        "startup_s": (first - began).total_seconds(),
        "trials_s": (last - first).total_seconds(),
        "after_s": (ended - last).total_seconds(),
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before, after: others' work
        "busy_s": sorted(timings["busy_s"].values(), reverse=True),
        "trial_s": [(t["end"] - t["start"]).total_seconds() for t in timings["trials"]],
        "trial_states": [t["state"] for t in timings["trials"]],
    }
    row |= {key: summary[key] for key in ("trials", "pruned", "failed", "best_value", "best_config")}
    row |= {key: summary[key] for key in ("test_mse_scaled", "model_version", "promoted")}
    row |= {"replayed": bool(replay), "trial_values": trial_values(home, summary["study"])}
    print(
        f"  --workers {workers}: {seconds:.1f} s (start-up {row['startup_s']:.1f},"
        f" trials {row['trials_s']:.1f}, after {row['after_s']:.1f});"
        f" best mean fold MSE {row['best_value']:.4f}, test MSE {row['test_mse_scaled']:.4f},"
        f" {row['pruned']} pruned",
        flush=True,
    )
    return row


def print_table(runs: list[dict], refs: dict, settings: dict, threads: dict) -> None:
    epochs = settings["epochs"] or f"{refs['preset_epochs'][0]} (the preset's)"
    reduced = settings["trials"] != 20 or settings["epochs"] is not None
    title = f"bilstm sweep --preset {PRESET}: {settings['trials']} trials, 2 folds each, epochs {epochs}"
    print(title + ("  [REDUCED: the issue's bench is 20 trials at the preset's epochs]" if reduced else ""))
    header = (
        f"{'workers':>7}{'command s':>11}{'start-up':>10}{'trials s':>10}{'after s':>9}{'x 1 worker':>12}"
        f"{'work s':>8}{'trials':>8}{'pruned':>8}{'best val':>10}{'test MSE':>10}  busy s per worker"
        + ("  replayed" if settings["replay"] else "")
    )
    print(header)
    print("-" * len(header))
    means = defaultdict(list)
    for run in runs:
        means[run["workers"]].append(run["command_s"])
    base = statistics.mean(means[min(means)])
    for run in runs:
        busy = " / ".join(f"{b:.0f}" for b in run["busy_s"])
        print(
            f"{run['workers']:>7}{run['command_s']:>11.1f}{run['startup_s']:>10.1f}{run['trials_s']:>10.1f}"
            f"{run['after_s']:>9.1f}{run['command_s'] / base:>11.2f}x{sum(run['trial_s']):>8.0f}"
            f"{run['trials']:>8}{run['pruned']:>8}"
            f"{run['best_value']:>10.4f}{run['test_mse_scaled']:>10.4f}  {busy}"
            + (f"{'  yes' if run['replayed'] else '  no':>10}" if settings["replay"] else "")
        )
    print(
        f"hand-picked preset {PRESET} (bench/accuracy.json, {refs['date']}, mean of 3 seeds): test MSE"
        f" {refs['preset_test_mse']:.4f}; linear floor (ridge on last-value-normalised windows, the"
        f" preset's warm start): {refs['linear_floor']:.4f}; persistence {refs['persistence']:.4f}"
    )
    print(
        f"one trial's folds (the preset's values) on 1 torch thread: {threads['1_thread_s']:.1f} s, on 2:"
        f" {threads['2_threads_s']:.1f} s ({threads['speedup']:.2f}x): the second core that a 1-worker"
        " sweep's trials use and 2 single-threaded workers give up"
    )
    print(
        "command s: the command in a fresh directory, start to exit, against one Prefect server started"
        " here; start-up: to the first trial's start (imports, ingest, the local Dask cluster for W > 1);"
        " trials s: first trial start to last trial end; after s: the best config's retrain, test scoring,"
        " registration, the plots, exit (serial); x 1 worker: command s over the 1-worker mean. best val:"
        " the best trial's mean fold MSE (scaled, folds before the test split); test MSE: the retrained"
        " best config on every test window (scaled). work s: the trials' seconds added up (the worker"
        " counts draw different trials, so this differs between runs); busy s: the same per worker process."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per sweep")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time")
    parser.add_argument("--epochs", type=int, help="bilstm sweep --epochs [default: the preset's]")
    parser.add_argument("--repeats", type=int, default=1, help="sweeps per worker count")
    parser.add_argument(
        "--replay",
        action="store_true",
        help="the later worker counts of each repeat run the first one's trials (the same values, in order)",
    )
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("sweep.json"))
    args = parser.parse_args()
    if args.trials < 1 or args.repeats < 1 or min(args.workers) < 1:
        parser.error("--trials, --repeats and --workers must be at least 1")
    refs = references(PRESET)
    threads = thread_scaling()
    env = with_tuned_malloc(dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true"))
    env.pop("MLFLOW_TRACKING_URI", None)
    tmp = Path(tempfile.mkdtemp(prefix="bilstm-sweep-"))
    runs = []
    try:
        with prefect_server(f"{tmp}/prefect", env) as api_url:
            env["PREFECT_API_URL"] = api_url
            for repeat in range(args.repeats):
                first = None
                for workers in args.workers:
                    replay = first["trial_values"] if args.replay and first else None
                    home = tmp / f"w{workers}-{repeat}"
                    runs.append(run_sweep(home, env, args.trials, workers, args.epochs, replay))
                    first = first or runs[-1]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    settings = {"trials": args.trials, "epochs": args.epochs, "folds": 2, "repeats": args.repeats}
    settings |= {"replay": args.replay}
    print_table(runs, refs, settings, threads)
    results = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python bench/sweep.py", *sys.argv[1:]]),
        "preset": PRESET,
        "settings": settings,
        "references": refs,
        "thread_scaling": threads,
        "runs": runs,
    }
    args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
