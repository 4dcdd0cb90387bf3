"""Checks of the data against a resolved config that the pipeline itself runs, and the command line runs
first to refuse a bad input in about a second: a `scaler.cycle` that fits the train rows, a monitored window
within the data's rows (a window in every split and a target that varies: `bilstm.split.split_table`).
"""

from __future__ import annotations

from bilstm.config import PipelineConfig
from bilstm.cycle import fit_on_train_rows
from bilstm.data import SeriesTable
from bilstm.errors import MonitorInputError
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


def check_window(window: int, rows: int, source: str) -> None:
    """Raise `MonitorInputError` for a monitored window longer than the data."""
    if window > rows:
        raise MonitorInputError(
            f"--window {window}: larger than the {rows} rows of {source}; pass --window {rows} or less"
        )
