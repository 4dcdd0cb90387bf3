"""Checks of a job's input before anything heavy starts (Prefect's server, torch, MLflow): the file, its
columns and timestamps, and the config against the data, so `bilstm train` rejects a bad input in about a
second. The flow checks the same again, where it runs without the CLI (a deployment, the dashboard).
"""

from __future__ import annotations

import warnings

from bilstm.config import PipelineConfig
from bilstm.cycle import fit_on_train_rows
from bilstm.data import check_targets_vary, load_series
from bilstm.defaults import resolve
from bilstm.split import split_rows


def check_training_input(config: PipelineConfig) -> None:
    """Raise `DataValidationError` for what the training flow would reject after starting up."""
    with warnings.catch_warnings():  # the flow's own run of the same steps shows them
        warnings.simplefilter("ignore")
        series = load_series(config.data)
    config = resolve(config, series).config
    rows, window = len(series.frame), config.window
    split = split_rows(config.data, series.name, rows, window.lookback, window.horizon, series.source)
    check_targets_vary(series, split.train_rows)
    if config.scaler.cycle:
        train = split.train_rows
        times = series.frame.index[train]
        fit_on_train_rows(series.values[train], times, config.scaler.cycle, series.freq, series.source)
