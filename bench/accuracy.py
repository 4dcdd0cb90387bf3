"""Accuracy of the shipped presets on ETTh1, 3 seeds each, beside the baselines every model must beat.

Each run goes through the flow's own steps (`bilstm.pipeline`: split and scale on the ETT borders, windows,
`new_forecaster` + `fit_forecaster`, `evaluate_forecaster` on ALL test windows) with the preset's config and
`train.seed` set. After every epoch the test MSE is measured too (outside the timed training) to report the
seconds of training until the model first beats persistence. Baselines on the same test windows:

- persistence (repeat the last value) and seasonal naive (repeat the last day), from the evaluation;
- ridge (`bilstm.ridge`, one map shared by the channels, penalty picked on the validation windows) on the raw
  96-step window;
- the same on last-value-normalised windows of the preset's lookback (NLinear-like: the linear floor, the
  highway's warm start), and, for a preset with `scaler.cycle`, on the series with that cycle removed (the
  floor of that setup).

    python bench/accuracy.py                      # every preset, seeds 0 1 2; table + bench/accuracy.json
    python bench/accuracy.py --preset etth1-s24 --seeds 0 --threads 2
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from bilstm import pipeline
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.presets import load_preset, preset_names
from bilstm.ridge import fit_ridge
from bilstm.windows import numpy_windows
from deployments.malloc_tuning import reexec_with_tuned_malloc

ETTH1_PRESETS = [name for name in preset_names() if name.startswith("etth1-")]  # m4-hourly: bench/m4.py

# Published scaled test MSE at this setting and horizon (lookback in brackets), for orientation only:
# those papers drop the last incomplete test batch, this benchmark scores every test window.
PUBLISHED = {
    "etth1-s24": "none below persistence",
    "etth1-s96": "NLinear 0.053 (L=336)",
    "etth1-m96": "PatchTST 0.370, SegRNN 0.351",
}


def channel_windows(values: np.ndarray, lookback: int, horizon: int, normalise: bool):
    """Per-channel (N*C, L) inputs and (N*C, T) targets of (rows, C) values, as float64 tensors; minus the
    last input value when `normalise` (the forecast adds it back)."""
    inputs, targets = numpy_windows(values, lookback, horizon)
    # (N, L, C), (N, T, C) -> (N*C, L), (N*C, T)
    x = inputs.transpose(0, 2, 1).reshape(-1, lookback)
    y = targets.transpose(0, 2, 1).reshape(-1, horizon)
    last = x[:, -1:] if normalise else np.zeros((len(x), 1), dtype=x.dtype)
    return torch.from_numpy(x - last), torch.from_numpy(y - last)


def ridge_mse(
    prepared: pipeline.ScaledSplit, lookback: int, horizon: int, normalise: bool, decycled: bool = False
) -> float:
    """Test MSE (scaled) of a channel-independent ridge map from the window to the horizon, on the scaled
    values, or with `decycled` on what the network reads (the preset's cycle removed: adding it back to
    forecast and truth alike leaves every error as it is). The highway's warm start is this same fit
    (`bilstm.ridge`: its penalties, picked on the validation windows, and its solver)."""
    train_end, val_end, test_end = prepared.split.borders()
    scaled = prepared.scaled if decycled else prepared.scaler.transform(prepared.series.values)
    k = len(prepared.series.target_columns)
    targets = scaled[:, -k:].astype(np.float64)
    train = channel_windows(targets[:train_end], lookback, horizon, normalise)
    val = channel_windows(targets[train_end - lookback : val_end], lookback, horizon, normalise)
    test = channel_windows(targets[val_end - lookback : test_end], lookback, horizon, normalise)
    return fit_ridge([train], [val]).mse(*test)


def train_one(config: PipelineConfig, prepared: pipeline.ScaledSplit) -> dict:
    """Train as the flow does; after each epoch, outside the timed part, score the test windows."""
    forecaster = pipeline.new_forecaster(prepared, config)
    clock = {"training": 0.0, "since": time.perf_counter(), "beat_persistence_s": None}

    def score_test(epoch: int, losses: dict[str, float]) -> None:
        clock["training"] += time.perf_counter() - clock["since"]
        metrics = pipeline.evaluate_forecaster(forecaster, prepared).metrics
        forecaster.model.train()
        beats = metrics["test_mse_scaled"] < metrics["naive_test_mse_scaled"]
        if beats and clock["beat_persistence_s"] is None:
            clock["beat_persistence_s"] = clock["training"]
        clock["since"] = time.perf_counter()

    windows = pipeline.make_train_windows(prepared, config)
    training_log = pipeline.fit_forecaster(
        forecaster, windows, config, on_epoch_end=score_test, progress=False
    )
    metrics = pipeline.evaluate_forecaster(forecaster, prepared).metrics
    return {
        "seed": config.train.seed,
        "mse": metrics["test_mse_scaled"],
        "mae": metrics["test_mae_scaled"],
        "persistence": metrics["naive_test_mse_scaled"],
        "seasonal_naive": metrics["seasonal_naive_test_mse_scaled"],
        "epochs": training_log.epochs_run,
        "best_epoch": training_log.best_epoch,
        "train_seconds": training_log.train_seconds,
        "samples_per_s": training_log.samples_per_s,
        "beat_persistence_s": clock["beat_persistence_s"],
    }


def bench_preset(name: str, seeds: list[int], threads: int) -> dict:
    config = with_overrides(PipelineConfig.model_validate(load_preset(name)), {"train.threads": threads})
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = pipeline.split_and_scale(series, config)
    window = config.window
    runs = []
    for seed in seeds:
        run = train_one(with_overrides(config, {"train.seed": seed}), prepared)
        print(
            f"  {name} seed {seed}: test MSE {run['mse']:.4f} after {run['epochs']} epochs,"
            f" {run['train_seconds']:.0f} s",
            flush=True,
        )
        runs.append(run)
    mses = [run["mse"] for run in runs]
    beat = [run["beat_persistence_s"] for run in runs if run["beat_persistence_s"] is not None]
    return {
        "preset": name,
        "setting": config.data.setting,
        "lookback": window.lookback,
        "horizon": window.horizon,
        "mse_mean": statistics.mean(mses),
        "mse_sd": statistics.stdev(mses) if len(mses) > 1 else 0.0,
        "mae_mean": statistics.mean(run["mae"] for run in runs),
        "persistence": runs[0]["persistence"],
        "seasonal_naive": runs[0]["seasonal_naive"],
        "ridge_96": ridge_mse(prepared, 96, window.horizon, normalise=False),
        "ridge_last_value": ridge_mse(prepared, window.lookback, window.horizon, normalise=True),
        "ridge_last_value_cycle": (
            ridge_mse(prepared, window.lookback, window.horizon, normalise=True, decycled=True)
            if prepared.cycle is not None
            else None
        ),
        "published": PUBLISHED.get(name, ""),
        "train_seconds_mean": statistics.mean(run["train_seconds"] for run in runs),
        "beat_persistence_s_max": max(beat) if len(beat) == len(runs) else None,
        "runs": runs,
    }


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'preset':<11}{'set':>4}{'L':>5}{'H':>4}  {'MSE mean ± sd':<17}{'MAE':>7}{'persist':>9}"
        f"{'seasonal':>9}{'ridge96':>9}{'ridgeLV':>9}{'+cycle':>8}{'train s':>9}{'beat s':>8}  published"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        beat, cycle = row["beat_persistence_s_max"], row["ridge_last_value_cycle"]
        print(
            f"{row['preset']:<11}{row['setting']:>4}{row['lookback']:>5}{row['horizon']:>4}  "
            f"{row['mse_mean']:.4f} ± {row['mse_sd']:.4f}  {row['mae_mean']:>7.4f}{row['persistence']:>9.4f}"
            f"{row['seasonal_naive']:>9.4f}{row['ridge_96']:>9.4f}{row['ridge_last_value']:>9.4f}"
            f"{'-' if cycle is None else f'{cycle:.4f}':>8}"
            f"{row['train_seconds_mean']:>9.0f}{'never' if beat is None else f'{beat:.1f}':>8}"
            f"  {row['published']}"
        )
    print(
        "MSE/MAE: scaled, every ETTh1 test window, mean of the seeds. ridge96: raw 96-step window;"
        " ridgeLV: last-value-normalised window of the preset's L (the linear floor); +cycle: the same with"
        " the preset's scaler.cycle removed first. train s: mean seconds of training; beat s: slowest"
        " seed's seconds of training until its test MSE beat persistence."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preset", action="append", choices=ETTH1_PRESETS, help="default: every ETTh1 preset"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("accuracy.json"))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (train.threads)")
    args = parser.parse_args()
    reexec_with_tuned_malloc()
    rows = [bench_preset(name, args.seeds, args.threads) for name in args.preset or ETTH1_PRESETS]
    print_table(rows)
    summary = {
        "date": datetime.date.today().isoformat(),
        "torch_threads": args.threads,
        "seeds": args.seeds,
        "rows": rows,
    }
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
