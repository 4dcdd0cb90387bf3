"""What the libraries' runners get of the project's backtest folds (`bilstm.folds`: each a `Split`), and what
every library is scored against on them: every stride-1 `horizon`-step window whose targets lie in
[val_end, test_end), on values standard-scaled with the mean and scale of the fold's train rows, so Darts,
NeuralForecast and the project score the same windows alike.
"""

from __future__ import annotations

import numpy as np

from bilstm import metrics
from bilstm.config import PipelineConfig
from bilstm.data import SeriesTable
from bilstm.defaults import seasonal_period
from bilstm.scaling import Scaler
from bilstm.split import Split


def fold_scaler(series: SeriesTable, split: Split) -> Scaler:
    return Scaler.fit("standard", series.values[split.rows("train")])


def runner_payload(series: SeriesTable, config: PipelineConfig, splits: list[Split]) -> dict:
    """What a library's runner needs: the file, the columns, the window, the settings and the folds (one
    `Split` each, oldest first) with their scalers' mean and scale (the project's scaler's own numbers), so
    the runner scales as it does."""
    folds_json = []
    for index, split in enumerate(splits):
        scaler = fold_scaler(series, split)
        rows = dict(zip(("train_end", "val_end", "test_end"), split.borders(), strict=True))
        folds_json.append(
            {"fold": index, **rows, "mean": scaler.center[0].tolist(), "scale": scaler.scale[0].tolist()}
        )
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


def scaled_truth(series: SeriesTable, split: Split, horizon: int) -> np.ndarray:
    """(N, T) scaled target of every window of the fold's test rows (one target)."""
    target = fold_scaler(series, split).transform(series.values)[:, -1]
    return np.lib.stride_tricks.sliding_window_view(target[slice(*split.borders()[1:])], horizon)


def baseline_mses(series: SeriesTable, split: Split, horizon: int) -> dict[str, float]:
    """Scaled test MSE of persistence and seasonal naive on the fold's windows (one target)."""
    target = fold_scaler(series, split).transform(series.values)[:, -1:]
    truth = scaled_truth(series, split, horizon)
    windows, first = len(truth), split.borders()[1]
    period = seasonal_period(series.freq)
    first_rows = first + np.arange(windows)
    made = metrics.baselines(
        target, np.array([0]), np.array([first]), first_rows, 0 * first_rows, horizon, period
    )
    naive, seasonal = made["naive"][..., 0], made["seasonal_naive"][..., 0]
    return {
        "naive_test_mse_scaled": float(np.mean((naive - truth) ** 2)),
        "seasonal_naive_test_mse_scaled": float(np.mean((seasonal - truth) ** 2)),
    }
