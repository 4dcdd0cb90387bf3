"""Rolling-origin backtests on ETTh1: the project's Bi-LSTM beside Darts (`BlockRNNModel` LSTM through
`historical_forecasts`) and NeuralForecast (`LSTM` through `cross_validation`), refit per fold, on the same
folds and windows (`bilstm.folds`; `bench/folds.py` hands them to the libraries), with persistence and
seasonal naive, and the `bilstm backtest` command's wall time at 1 and 2 workers. The libraries run in
their own venv and processes (`bench/compare_env.py`); the table gives scaled test MSE per fold, the mean,
and seconds.

    python bench/backtest.py                                     # default config and etth1-s96, 4 folds
    python bench/backtest.py --folds 2 --epochs 1 --presets default --only ours   # a smoke run
    python bench/backtest.py --presets default --only command --repeats 3   # the command at 1 and 2 workers
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import compare_env
import numpy as np
from folds import baseline_mses, runner_payload, scaled_truth

from bilstm import backtest
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import SeriesTable, load_table
from bilstm.defaults import resolve
from bilstm.folds import BacktestOptions, Fold, plan_folds
from bilstm.presets import load_preset, preset_names
from deployments.malloc_tuning import reexec_with_tuned_malloc

LIBRARIES = {"darts": "darts_forecasts.py", "neuralforecast": "neuralforecast_forecasts.py"}
NAMES = {"ours": "bilstm", "darts": "darts BlockRNN LSTM", "neuralforecast": "neuralforecast LSTM"}


def project_backtest(series: SeriesTable, config: PipelineConfig, folds: list[Fold]) -> dict:
    """The project's folds in-process, one after another, through `bilstm.backtest.run_fold`: what each
    fold task of `bilstm backtest` runs (train, then score every test window)."""
    rows, started = [], time.perf_counter()
    for fold in folds:
        fold_started = time.perf_counter()
        outcome = backtest.run_fold(series, config, fold)
        row = backtest.fold_row(outcome, series) | {
            "epochs_run": outcome.training_log.epochs_run,
            "seconds": time.perf_counter() - fold_started,
        }
        rows.append(row)
        print(f"  bilstm fold {fold.index}: test MSE {row['test_mse_scaled']:.4f}", flush=True)
    return {"folds": rows, "wall_seconds": time.perf_counter() - started}


def command_wall_seconds(
    name: str, folds_n: int, epochs: int | None, workers: list[int], repeats: int
) -> dict:
    """`bilstm backtest --folds N --workers W --json` as a user runs it (a fresh directory, the temporary
    Prefect server, MLflow, the Dask cluster where W > 1), the worker counts alternating, `repeats` times
    each: the command's wall seconds and the flow's own (`wall_seconds`), and the mean MSE of each run."""
    command = [str(Path(sys.executable).with_name("bilstm")), "backtest", "--folds", str(folds_n), "--json"]
    command += [] if name == "default" else ["--preset", name]
    command += [] if epochs is None else ["--epochs", str(epochs)]
    runs = {w: [] for w in workers}
    for _ in range(repeats):
        for w in workers:
            with tempfile.TemporaryDirectory() as home:
                env = dict(os.environ, PREFECT_HOME=f"{home}/.prefect")
                env.pop("PREFECT_API_URL", None)
                started = time.perf_counter()
                done = subprocess.run(
                    [*command, "--workers", str(w)], cwd=home, env=env, capture_output=True, text=True
                )
                seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"bilstm backtest --workers {w} failed: {done.stderr[-2000:]}")
            summary = json.loads(done.stdout.strip().splitlines()[-1])
            mean = summary["metrics"]["mean_test_mse_scaled"]
            runs[w].append({"command_s": seconds, "flow_s": summary["wall_seconds"], "mean_mse": mean})
            print(f"  bilstm backtest --workers {w}: {seconds:.1f} s (flow {summary['wall_seconds']:.1f} s)")
    return {str(w): r for w, r in runs.items()}


def library_backtest(library: str, series: SeriesTable, config: PipelineConfig, folds: list[Fold]) -> dict:
    """One library's folds in its own process; its forecasts scored here against the same scaled truth."""
    result = compare_env.run(LIBRARIES[library], runner_payload(series, config, [f.split for f in folds]))
    if result.output is None:
        print(f"  {library} failed: {result.error}", flush=True)
        return {"error": result.error, "wall_seconds": result.wall_seconds}
    rows = []
    for fold, answer in zip(folds, result.output["folds"], strict=True):
        forecast = np.asarray(answer["forecast"])
        truth = scaled_truth(series, fold.split, config.window.horizon)
        if forecast.shape != truth.shape:
            raise RuntimeError(f"{library} fold {fold.index}: {forecast.shape} forecasts for {truth.shape}")
        seconds = answer.get("fit_predict_seconds") or answer["fit_seconds"] + answer["predict_seconds"]
        mse = float(np.mean((forecast - truth) ** 2))
        rows.append({"fold": fold.index, "test_mse_scaled": mse, "seconds": seconds})
        rows[-1] |= {key: answer[key] for key in ("epochs_run", "steps", "steps_per_epoch") if key in answer}
        print(f"  {library} fold {fold.index}: test MSE {mse:.4f}", flush=True)
    return {"folds": rows, "wall_seconds": result.wall_seconds, "version": result.output["version"]}


def bench_config(
    name: str, folds_n: int, epochs: int | None, only: list[str], available: set[str], timing: dict
) -> dict:
    config = PipelineConfig() if name == "default" else PipelineConfig.model_validate(load_preset(name))
    if epochs is not None:
        config = with_overrides(config, {"train.epochs": epochs})
    series = load_table(config.data)
    config = resolve(config, series).config
    _, folds = plan_folds(series, config, BacktestOptions(folds=folds_n))
    spans = [f.split.borders() for f in folds]
    print(f"{name}: folds (train end, validation end, test end) {spans}", flush=True)
    models = {}
    for key in only:
        if key == "ours":
            models[key] = project_backtest(series, config, folds)
        elif key in available:
            models[key] = library_backtest(key, series, config, folds)
    if "command" in only:
        models["command"] = {"workers": command_wall_seconds(name, folds_n, epochs, **timing)}
    baselines = [baseline_mses(series, fold.split, config.window.horizon) for fold in folds]
    for key, label in (("naive", "persistence"), ("seasonal_naive", "seasonal naive")):
        models[label] = {"folds": [{"test_mse_scaled": b[f"{key}_test_mse_scaled"]} for b in baselines]}
    return {
        "config": name,
        "setting": config.data.setting,
        "lookback": config.window.lookback,
        "horizon": config.window.horizon,
        "epochs": config.train.epochs,
        "batch_size": config.train.batch_size,
        "folds": [
            {
                "fold": f.index,
                **dict(zip(("train_end", "val_end", "test_end"), f.split.borders(), strict=True)),
            }
            for f in folds
        ],  # fmt: skip
        "models": models,
    }


def print_workers_table(rows: list[dict]) -> None:
    """`bilstm backtest` at each worker count: every run's seconds, the means, and the ratio to 1 worker."""
    print(
        f"{'config':<11}{'workers':>8}{'command s (each run)':>24}{'mean':>8}{'flow s':>8}{'x 1 worker':>12}"
    )
    for row in rows:
        timings = row["models"].get("command", {}).get("workers")
        if not timings:
            continue
        means = {w: statistics.mean(r["command_s"] for r in runs) for w, runs in timings.items()}
        for workers, runs in timings.items():
            each = " ".join(f"{r['command_s']:.1f}" for r in runs)
            flow = statistics.mean(r["flow_s"] for r in runs)
            ratio = means[workers] / means[min(timings, key=int)]
            print(
                f"{row['config']:<11}{workers:>8}{each:>24}{means[workers]:>8.1f}{flow:>8.1f}{ratio:>11.2f}x"
            )
    print(
        "command s: `bilstm backtest --folds N --workers W --json` in a fresh directory, start-up to exit"
        " (the temporary Prefect server, MLflow, the local Dask cluster for W > 1); flow s: the flow's own"
        " wall_seconds. The worker counts alternate, so load on the shared machine hits both alike."
    )


def print_table(rows: list[dict]) -> None:
    n = max(len(row["folds"]) for row in rows)
    header = f"{'config':<11}{'model':<22}" + "".join(f"{'fold ' + str(k):>9}" for k in range(n))
    header += f"{'mean':>9}{'fit+fc s':>10}{'x ours':>8}{'process s':>11}  epochs run"
    print(header)
    print("-" * len(header))
    for row in rows:
        ours = row["models"].get("ours", {}).get("folds")
        ours_s = sum(f["seconds"] for f in ours) if ours else None
        for key, model in row["models"].items():
            if key == "command":
                continue
            label = f"{row['config']:<11}{NAMES.get(key, key):<22}"
            if "error" in model:
                print(f"{label}failed: {model['error'][:120]}")
                continue
            mses = [f["test_mse_scaled"] for f in model["folds"]]
            line = label + "".join(f"{m:>9.4f}" for m in mses) + " " * 9 * (n - len(mses))
            line += f"{statistics.mean(mses):>9.4f}"
            if "seconds" in model["folds"][0]:
                seconds = sum(f["seconds"] for f in model["folds"])
                ratio = f"{seconds / ours_s:.1f}x" if ours_s else "-"
                process = f"{model['wall_seconds']:.0f}" if key != "ours" else "-"
                epochs = [f.get("epochs_run") or _epochs(f) for f in model["folds"]]
                line += f"{seconds:>10.0f}{ratio:>8}{process:>11}  {' '.join(map(str, epochs))}"
            print(line)
    print(
        "MSE: scaled by each fold's train rows, every stride-1 window of the fold's test rows. fit+fc s: the"
        " folds' training and forecasting seconds; x ours: that over bilstm's; process s: the library's"
        " whole process (interpreter, imports, all folds). Wall times from one run on a 2-core machine"
        " shared with other work: compare the ratios."
    )


def _epochs(fold: dict) -> str:
    """NeuralForecast trains in steps: the epochs (passes over the train windows) they make."""
    if "steps" not in fold:
        return "-"
    return f"{fold['steps'] / fold['steps_per_epoch']:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--epochs", type=int, help="for every model; default: each config's own")
    parser.add_argument("--presets", nargs="+", default=["default", "etth1-s96"], help="default or presets")
    parser.add_argument(
        "--only",
        choices=["ours", "command", *LIBRARIES],
        action="append",
        help="default: all; command: `bilstm backtest` timed at each --workers count",
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="for the command's timing")
    parser.add_argument("--repeats", type=int, default=2, help="runs of the command per worker count")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("backtest.json"))
    args = parser.parse_args()
    unknown = set(args.presets) - {"default", *preset_names()}
    if unknown:
        parser.error(f"unknown presets {sorted(unknown)}; choose default or {', '.join(preset_names())}")
    reexec_with_tuned_malloc()
    only = args.only or ["ours", "command", *LIBRARIES]
    wanted = [library for library in LIBRARIES if library in only]
    status = compare_env.ensure(wanted) if wanted else {}
    for library, error in status.items():
        if error:
            print(f"{library}: not run, {error}", flush=True)
    available = {library for library, error in status.items() if error is None}
    timing = {"workers": args.workers, "repeats": args.repeats}
    rows = [bench_config(name, args.folds, args.epochs, only, available, timing) for name in args.presets]
    if any(key != "command" for key in only):
        print_table(rows)
    if "command" in only:
        print_workers_table(rows)
    compare_env.save_results(args.json, "backtest.py", status, rows)


if __name__ == "__main__":
    main()
