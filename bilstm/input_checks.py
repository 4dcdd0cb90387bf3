"""Checks of the data against a resolved config that the pipeline itself runs, and the command line runs
first to refuse a bad input in about a second: a window in every split, a target that varies over the train
rows, a `scaler.cycle` that fits the train rows, a monitored window within the data's rows.
"""

from __future__ import annotations

from bilstm.config import PipelineConfig
from bilstm.cycle import fit_on_train_rows
from bilstm.data import SeriesTable
from bilstm.errors import MonitorInputError
from bilstm.split import Split, check_targets_vary, split_rows


def checked_split(series: SeriesTable, config: PipelineConfig) -> Split:
    """The time split of `series` for a resolved `config`, checked to leave a window in every split and a
    target that varies over the train rows (what `pipeline.split_and_scale` splits by, too)."""
    window = config.window
    rows = len(series.frame)
    split = split_rows(config.data, series.name, rows, window.lookback, window.horizon, series.source)
    check_targets_vary(series, split)
    return split


def check_cycle(series: SeriesTable, config: PipelineConfig, split: Split) -> None:
    """Raise `DataValidationError` where `scaler.cycle` cannot be fitted on the split's train rows."""
    if config.scaler.cycle:
        train = split.train_mask(len(series.frame))
        times, row_series = series.frame.index[train], series.row_series[train]
        fit_on_train_rows(
            series.values[train], times, config.scaler.cycle, series.freq, series.source, series.timezone,
            row_series, series.ids,
        )  # fmt: skip


def check_window(window: int, rows: int, source: str) -> None:
    """Raise `MonitorInputError` for a monitored window longer than the data."""
    if window > rows:
        raise MonitorInputError(
            f"--window {window}: larger than the {rows} rows of {source}; pass --window {rows} or less"
        )
