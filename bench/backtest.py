"""Rolling-origin backtests on ETTh1: the project's Bi-LSTM beside Darts (`BlockRNNModel` LSTM through
`historical_forecasts`) and NeuralForecast (`LSTM` through `cross_validation`), refit per fold, on the same
folds and windows (`bench/folds.py`), with persistence and seasonal naive. The libraries run in their own
venv and processes (`bench/compare_env.py`); the table gives scaled test MSE per fold, the mean, and seconds.

    python bench/backtest.py                                     # default config and etth1-s96, 4 folds
    python bench/backtest.py --folds 2 --epochs 1 --presets default --only ours   # a smoke run
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

import compare_env
import numpy as np
from folds import Fold, baseline_mses, rolling_folds, runner_payload, scaled_split, scaled_truth

from bilstm import pipeline
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import Series, load_series
from bilstm.defaults import resolve
from bilstm.intervals import level_name
from bilstm.malloc_tuning import reexec_with_tuned_malloc
from bilstm.presets import load_preset, preset_names
from bilstm.split import Split

LIBRARIES = {"darts": "darts_forecasts.py", "neuralforecast": "neuralforecast_forecasts.py"}
NAMES = {"ours": "bilstm", "darts": "darts BlockRNN LSTM", "neuralforecast": "neuralforecast LSTM"}


def project_backtest(series: Series, config: PipelineConfig, folds: list[Fold]) -> dict:
    """The project's folds, in-process through `bilstm.pipeline` with one `Split` per fold (train, then
    evaluate on every test window). `bilstm backtest --json` gives the same fold rows once it lands; then
    this function becomes a call of that command."""
    rows, started = [], time.perf_counter()
    for fold in folds:
        fold_started = time.perf_counter()
        split = Split(fold.train_end, fold.val_end, fold.test_end, config.window.lookback)
        prepared = scaled_split(series, config, split)
        forecaster = pipeline.new_forecaster(prepared, config)
        windows = pipeline.make_train_windows(prepared, config)
        training_log = pipeline.fit_forecaster(forecaster, windows, config, progress=False)
        metrics = pipeline.evaluate_forecaster(forecaster, prepared).metrics
        row = {
            "fold": fold.fold,
            "test_start": fold.val_end,
            "test_end": fold.test_end,
            "test_mse_scaled": metrics["test_mse_scaled"],
            "naive_test_mse_scaled": metrics["naive_test_mse_scaled"],
            "seasonal_naive_test_mse_scaled": metrics["seasonal_naive_test_mse_scaled"],
            "epochs_run": training_log.epochs_run,
            "seconds": time.perf_counter() - fold_started,
        }
        for level in config.intervals.levels:
            row[f"coverage_{level_name(level)}"] = metrics[f"test_coverage_{level_name(level)}"]
        rows.append(row)
        print(f"  bilstm fold {fold.fold}: test MSE {row['test_mse_scaled']:.4f}", flush=True)
    return {"folds": rows, "wall_seconds": time.perf_counter() - started}


def library_backtest(library: str, series: Series, config: PipelineConfig, folds: list[Fold]) -> dict:
    """One library's folds in its own process; its forecasts scored here against the same scaled truth."""
    result = compare_env.run(LIBRARIES[library], runner_payload(series, config, folds))
    if result.output is None:
        print(f"  {library} failed: {result.error}", flush=True)
        return {"error": result.error, "wall_seconds": result.wall_seconds}
    rows = []
    for fold, answer in zip(folds, result.output["folds"], strict=True):
        forecast = np.asarray(answer["forecast"])
        truth = scaled_truth(series, fold, config.window.horizon)
        if forecast.shape != truth.shape:
            raise RuntimeError(f"{library} fold {fold.fold}: {forecast.shape} forecasts for {truth.shape}")
        seconds = answer.get("fit_predict_seconds") or answer["fit_seconds"] + answer["predict_seconds"]
        mse = float(np.mean((forecast - truth) ** 2))
        rows.append({"fold": fold.fold, "test_mse_scaled": mse, "seconds": seconds})
        rows[-1] |= {key: answer[key] for key in ("epochs_run", "steps", "steps_per_epoch") if key in answer}
        print(f"  {library} fold {fold.fold}: test MSE {mse:.4f}", flush=True)
    return {"folds": rows, "wall_seconds": result.wall_seconds, "version": result.output["version"]}


def bench_config(name: str, folds_n: int, epochs: int | None, only: list[str], available: set[str]) -> dict:
    config = PipelineConfig() if name == "default" else PipelineConfig.model_validate(load_preset(name))
    if epochs is not None:
        config = with_overrides(config, {"train.epochs": epochs})
    series = load_series(config.data)
    config = resolve(config, series).config
    folds = rolling_folds(series, config, folds_n)
    print(f"{name}: folds {[(f.train_end, f.val_end, f.test_end) for f in folds]}", flush=True)
    models = {}
    for key in only:
        if key == "ours":
            models[key] = project_backtest(series, config, folds)
        elif key in available:
            models[key] = library_backtest(key, series, config, folds)
    baselines = [baseline_mses(series, fold, config.window.horizon) for fold in folds]
    for key, label in (("naive", "persistence"), ("seasonal_naive", "seasonal naive")):
        models[label] = {"folds": [{"test_mse_scaled": b[f"{key}_test_mse_scaled"]} for b in baselines]}
    return {
        "config": name,
        "setting": config.data.setting,
        "lookback": config.window.lookback,
        "horizon": config.window.horizon,
        "epochs": config.train.epochs,
        "batch_size": config.train.batch_size,
        "folds": [vars(fold) for fold in folds],
        "models": models,
    }


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
    parser.add_argument("--only", choices=["ours", *LIBRARIES], action="append", help="default: all")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("backtest.json"))
    args = parser.parse_args()
    unknown = set(args.presets) - {"default", *preset_names()}
    if unknown:
        parser.error(f"unknown presets {sorted(unknown)}; choose default or {', '.join(preset_names())}")
    reexec_with_tuned_malloc()
    only = args.only or ["ours", *LIBRARIES]
    wanted = [library for library in LIBRARIES if library in only]
    status = compare_env.ensure(wanted) if wanted else {}
    for library, error in status.items():
        if error:
            print(f"{library}: not run, {error}", flush=True)
    available = {library for library, error in status.items() if error is None}
    rows = [bench_config(name, args.folds, args.epochs, only, available) for name in args.presets]
    print_table(rows)
    summary = {
        "date": datetime.date.today().isoformat(),
        "command": "python bench/backtest.py " + " ".join(sys.argv[1:]),
        "library_status": status,
        "rows": rows,
    }
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
