"""Prediction intervals on the ETTh1 test windows: the project's conformal bands (calibrated on the validation
windows) beside Darts' `ConformalNaiveModel` around a `BlockRNNModel` LSTM on the same windows, for the
default config and the `S` presets. Coverage at each level per horizon step and overall, mean width (original
units) and MSIS, all scored by the project's own `bilstm.metrics.interval_scores`. Darts runs in its own
venv and process (`bench/compare_env.py`); if it does not install, the table says why.

    python bench/intervals.py                                    # default, etth1-s24, etth1-s96
    python bench/intervals.py --presets etth1-s24 --epochs 1     # a short run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import compare_env
import numpy as np
from folds import runner_payload

from bilstm import m4, metrics, pipeline
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import SeriesTable, load_table
from bilstm.defaults import resolve, seasonal_period
from bilstm.intervals import level_name
from bilstm.presets import load_preset, preset_names
from deployments.malloc_tuning import reexec_with_tuned_malloc

SHOWN_STEPS = (1, 2, 3, 6, 12, 18, 24, 48, 72, 96)


def ours(config: PipelineConfig, prepared: pipeline.ScaledSplit) -> dict:
    """Train and evaluate as the flow does; the evaluation scores the bands on every test window."""
    started = time.perf_counter()
    forecaster = pipeline.new_forecaster(prepared, config)
    windows = pipeline.make_train_windows(prepared, config)
    training_log = pipeline.fit_forecaster(forecaster, windows, config, progress=False)
    evaluation = pipeline.evaluate_forecaster(forecaster, prepared)
    per_step = {
        column: evaluation.by_horizon[column].tolist()
        for column in evaluation.by_horizon.columns
        if column.startswith("coverage_")
    }
    return {
        "metrics": evaluation.metrics,
        "per_step": per_step,
        "epochs_run": training_log.epochs_run,
        "seconds": time.perf_counter() - started,
        "calibrator": config.intervals.method,
    }


def darts(series: SeriesTable, config: PipelineConfig, prepared: pipeline.ScaledSplit) -> dict:
    """Darts' conformal model on the same test windows, its bands scored here as the project's are."""
    split, levels, horizon = prepared.split, config.intervals.levels, config.window.horizon
    payload = runner_payload(series, config, [split])
    result = compare_env.run("darts_forecasts.py", payload | {"levels": levels})
    if result.output is None:
        print(f"  darts failed: {result.error}", flush=True)
        return {"error": result.error}
    answer = result.output["folds"][0]
    target = series.values[:, -1:]

    def original(scaled: list) -> np.ndarray:
        # (N, T) scaled -> (N, T, 1) original units
        return prepared.scaler.inverse_transform(np.asarray(scaled)[..., None], slice(-1, None))

    truth = np.lib.stride_tricks.sliding_window_view(target[slice(*split.borders()[1:])], horizon, axis=0)
    truth = truth.transpose(0, 2, 1)
    forecast = original(answer["forecast"])
    pairs = zip(levels, answer["lo"], answer["hi"], strict=True)
    bands = {level: (original(lo), original(hi)) for level, lo, hi in pairs}
    count = len(truth)
    unit = np.broadcast_to(prepared.scaler.units(slice(-1, None)), (count, 1))
    scale = np.full((count, 1), m4.mase_scale(target[: split.borders()[1], 0], seasonal_period(series.freq)))
    scores = metrics.interval_scores(truth, bands, unit, scale)
    scores = {f"test_{name}": float(values.mean()) for name, values in scores.items()}
    scores["test_mse_scaled"] = float(np.mean(((forecast - truth) / unit) ** 2))
    per_step = metrics.by_horizon(truth, forecast, unit, bands).filter(like="coverage_")
    return {
        "metrics": scores,
        "per_step": {name: per_step[name].tolist() for name in per_step.columns},
        "epochs_run": answer["epochs_run"],
        "seconds": answer["fit_seconds"] + answer["predict_seconds"],
        "process_seconds": result.wall_seconds,
        "version": result.output["version"],
    }


def bench_config(name: str, epochs: int | None, models: list[str], darts_ok: bool) -> dict:
    config = PipelineConfig() if name == "default" else PipelineConfig.model_validate(load_preset(name))
    if epochs is not None:
        config = with_overrides(config, {"train.epochs": epochs})
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = pipeline.split_and_scale(series, config)
    row = {"config": name, "setting": config.data.setting, "horizon": config.window.horizon, "models": {}}
    row["epochs"] = config.train.epochs
    if "ours" in models:
        row["models"]["bilstm"] = ours(config, prepared)
        print(f"  {name} bilstm: coverage {_coverages(row['models']['bilstm'])}", flush=True)
    if "darts" in models and darts_ok:
        row["models"]["darts"] = darts(series, config, prepared)
        if "metrics" in row["models"]["darts"]:
            print(f"  {name} darts: coverage {_coverages(row['models']['darts'])}", flush=True)
    return row


def _coverages(model: dict) -> str:
    return " / ".join(f"{v:.3f}" for k, v in model["metrics"].items() if k.startswith("test_coverage_"))


def print_tables(rows: list[dict]) -> None:
    header = (
        f"{'config':<11}{'H':>4}  {'model':<30}{'MSE':>8}{'cov 80':>8}{'cov 95':>8}{'width 80':>10}"
        f"{'width 95':>10}{'MSIS 95':>9}{'fit+fc s':>10}{'epochs':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        for key, model in row["models"].items():
            label = f"{row['config']:<11}{row['horizon']:>4}  "
            name = f"bilstm {model['calibrator']}" if key == "bilstm" else "darts ConformalNaive(BlockRNN)"
            if "error" in model:
                print(f"{label}{name:<30}failed: {model['error'][:100]}")
                continue
            m = model["metrics"]
            print(
                f"{label}{name:<30}{m['test_mse_scaled']:>8.4f}{m['test_coverage_80']:>8.3f}"
                f"{m['test_coverage_95']:>8.3f}{m['test_width_80']:>10.2f}{m['test_width_95']:>10.2f}"
                f"{m['test_msis_95']:>9.2f}{model['seconds']:>10.0f}{model['epochs_run']:>8}"
            )
    columns = [(row, key) for row in rows for key, model in row["models"].items() if "per_step" in model]
    print("\ncoverage 80 / 95 per horizon step")
    print(f"{'step':>5}" + "".join(f"  {row['config'][:9] + ' ' + key[:6]:>18}" for row, key in columns))
    longest = max((row["horizon"] for row, _ in columns), default=0)
    for step in (step for step in SHOWN_STEPS if step <= longest):
        cells = []
        for row, key in columns:
            per_step = row["models"][key]["per_step"]
            if step > row["horizon"]:
                cells.append(f"  {'':>18}")
                continue
            pair = " / ".join(f"{per_step[f'coverage_{level_name(lv)}'][step - 1]:.3f}" for lv in (80, 95))
            cells.append(f"  {pair:>18}")
        print(f"{step:>5}" + "".join(cells))
    print(
        "MSE scaled; widths in original units (OT, degrees); MSIS at 95 % (M4). bilstm: calibrated on the"
        " validation windows only. darts: ConformalNaiveModel (symmetric) recalibrated at each forecast on"
        " every residual known by then, from the validation windows on (its design). Wall seconds from one"
        " run on a 2-core machine shared with other work."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["default", "etth1-s24", "etth1-s96"])
    parser.add_argument("--epochs", type=int, help="for both models; default: each config's own")
    parser.add_argument("--only", choices=["ours", "darts"], action="append", help="default: both")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("intervals.json"))
    args = parser.parse_args()
    unknown = set(args.presets) - {"default", *preset_names()}
    if unknown:
        parser.error(f"unknown presets {sorted(unknown)}; choose default or {', '.join(preset_names())}")
    reexec_with_tuned_malloc()
    models = args.only or ["ours", "darts"]
    status = compare_env.ensure(["darts"]) if "darts" in models else {}
    if status.get("darts"):
        print(f"darts: not run, {status['darts']}", flush=True)
    rows = [bench_config(name, args.epochs, models, status.get("darts") is None) for name in args.presets]
    print_tables(rows)
    compare_env.save_results(args.json, "intervals.py", status, rows)


if __name__ == "__main__":
    main()
