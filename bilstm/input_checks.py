"""Checks of the data against a resolved config that the pipeline itself runs, and the command line runs
first to refuse a bad input in about a second: a `scaler.cycle` that fits the train rows, positive values
for `model.instance_norm: log_ratio`, a monitored window within the data's rows (a window in every split
and a target that varies: `bilstm.split.split_table`).
"""

from __future__ import annotations

import numpy as np

from bilstm.config import PipelineConfig
from bilstm.cycle import fit_on_train_rows
from bilstm.data import SeriesTable
from bilstm.errors import DataValidationError, MonitorInputError
from bilstm.messages import sample
from bilstm.split import Split


def check_cycle(series: SeriesTable, config: PipelineConfig, split: Split) -> None:
    """Raise `DataValidationError` where `scaler.cycle` cannot be fitted on the split's train rows."""
    if config.scaler.cycle:
        train = split.train_mask(len(series.frame))
        times, row_series = series.frame.index[train], series.row_series[train]
        fit_on_train_rows(
            series.values[train], times, config.scaler.cycle, series.freq, series.source, series.timezone,
            row_series, series.ids,
        )  # fmt: skip


def check_positive(series: SeriesTable, config: PipelineConfig) -> None:
    """Raise `DataValidationError` naming the first value at or below 0, its column, series and stamp, where
    `model.instance_norm` log_ratio (or an ensemble member's) takes logs of every value the network reads."""
    if "log_ratio" not in {config.model.instance_norm, *config.model.ensemble_norms}:
        return
    values = series.values
    bad = values <= 0
    if not bad.any():
        return
    row, column = (int(i[0]) for i in np.nonzero(bad))
    whose = "" if series.series_column is None else f" of series {sample(series.ids[series.row_series[row]])}"
    raise DataValidationError(
        f"{series.source}: model.instance_norm log_ratio needs values above 0: column"
        f" {sample(series.input_columns[column])}{whose} is {values[row, column]:.4g} at"
        f" {series.frame.index[row]} ({int(bad.sum())} at or below 0); use robust or revin"
    )


def check_window(window: int, rows: int, source: str) -> None:
    """Raise `MonitorInputError` for a monitored window longer than the data."""
    if window > rows:
        raise MonitorInputError(
            f"--window {window}: larger than the {rows} rows of {source}; pass --window {rows} or less"
        )
