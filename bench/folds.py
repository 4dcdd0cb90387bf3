"""Rolling-origin folds for the comparison benchmarks, and what every library is scored against on them.

Fold k of N (newest last), step S: test_end = rows - (N-1-k)*S, val_end = test_end - test size,
train_end = val_end - validation size, the sizes of the config's single split. A fold scores every stride-1
`horizon`-step window whose targets lie in [val_end, test_end), on values standard-scaled with the mean and
scale of the fold's train rows, so Darts, NeuralForecast and the project score the same windows alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bilstm import metrics
from bilstm.config import PipelineConfig
from bilstm.data import Series
from bilstm.defaults import seasonal_period
from bilstm.pipeline import ScaledSplit
from bilstm.preflight import checked_split
from bilstm.scaling import Scaler
from bilstm.split import Split


@dataclass(frozen=True)
class Fold:
    fold: int
    train_end: int
    val_end: int
    test_end: int


def rolling_folds(series: Series, config: PipelineConfig, folds: int, step: int | None = None) -> list[Fold]:
    """The folds of a resolved `config` on `series`; `step` defaults to the test size."""
    base = checked_split(series, config)
    val_size, test_size = base.val_end - base.train_end, base.test_end - base.val_end
    step = step or test_size
    rows = len(series.frame)
    result = []
    for k in range(folds):
        test_end = rows - (folds - 1 - k) * step
        val_end = test_end - test_size
        result.append(Fold(k, val_end - val_size, val_end, test_end))
    lookback, horizon = config.window.lookback, config.window.horizon
    if result[0].train_end < lookback + horizon:
        raise ValueError(
            f"{folds} folds of step {step} leave {result[0].train_end} train rows in fold 0; the lookback"
            f" {lookback} + horizon {horizon} need more: use fewer folds or a smaller step"
        )
    return result


def scaled_split(series: Series, config: PipelineConfig, split: Split) -> ScaledSplit:
    """`pipeline.split_and_scale` for a given split: the scaler fitted on its train rows (configs with a
    cycle, `scaler.cycle`, are not supported here)."""
    if config.scaler.cycle:
        raise ValueError("scaled_split does not fit a cycle; run configs without scaler.cycle")
    values = series.values
    scaler = Scaler(config.scaler.kind).fit(values[split.train_rows])
    return ScaledSplit(series, split, scaler, scaler.transform(values).astype(np.float32))


def fold_scaler(series: Series, fold: Fold) -> Scaler:
    return Scaler("standard").fit(series.values[: fold.train_end])


def runner_payload(series: Series, config: PipelineConfig, folds: list[Fold]) -> dict:
    """What a library's runner needs: the file, the columns, the window, the settings and the folds with
    their scalers' mean and scale (the project's scaler's own numbers), so the runner scales as it does."""
    folds_json = []
    for fold in folds:
        state = fold_scaler(series, fold).to_json()["state"]
        folds_json.append(asdict(fold) | {"mean": state["mean_"], "scale": state["scale_"]})
    return {
        "csv": series.source,
        "time_column": config.data.time_column,
        "columns": series.input_columns,  # features first, the target last
        "setting": config.data.setting,
        "lookback": config.window.lookback,
        "horizon": config.window.horizon,
        "folds": folds_json,
    } | library_settings(config)


def library_settings(config: PipelineConfig) -> dict:
    """The project config's training and size settings that the libraries' LSTMs take over as they are
    (each library keeps its own optimiser defaults: Adam at 1e-3, constant rate, no warm start)."""
    train, model = config.train, config.model
    return {
        "train": {
            "epochs": train.epochs,
            "batch_size": train.batch_size,
            "patience": train.patience,
            "seed": train.seed,
            "threads": train.threads,
        },
        "model": {
            "hidden_size": model.hidden_size,
            "num_layers": model.num_layers,
            "dropout": model.dropout,
            "head_size": model.head_size,
        },
    }


def scaled_truth(series: Series, fold: Fold, horizon: int) -> np.ndarray:
    """(N, T) scaled target of every window of the fold's test rows (one target)."""
    target = fold_scaler(series, fold).transform(series.values)[:, -1]
    return np.lib.stride_tricks.sliding_window_view(target[fold.val_end : fold.test_end], horizon)


def baseline_mses(series: Series, fold: Fold, horizon: int) -> dict[str, float]:
    """Scaled test MSE of persistence and seasonal naive on the fold's windows (one target)."""
    target = fold_scaler(series, fold).transform(series.values)[:, -1:]
    truth = scaled_truth(series, fold, horizon)
    windows, first = len(truth), fold.val_end
    period = seasonal_period(series.freq)
    naive = metrics.naive_forecast(target, first, windows, horizon)[..., 0]
    seasonal = metrics.seasonal_naive_forecast(target, first, windows, horizon, period)[..., 0]
    return {
        "naive_test_mse_scaled": float(np.mean((naive - truth) ** 2)),
        "seasonal_naive_test_mse_scaled": float(np.mean((seasonal - truth) ** 2)),
    }
