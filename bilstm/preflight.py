"""Checks of a command's input before anything heavy starts (Prefect's server, torch, MLflow), so a bad
input is rejected in about a second: for `bilstm train` the file, its columns and timestamps, and the
config against the data; for `bilstm forecast` the history file and the output paths (its columns need the
model); for `bilstm monitor` the data file and the window against its rows. The flows check the same again,
where they run without the CLI (a deployment, the dashboard).
"""

from __future__ import annotations

import warnings

from bilstm.config import PipelineConfig
from bilstm.cycle import fit_on_train_rows
from bilstm.data import Series, builtin_path, check_targets_vary, load_series, read_table
from bilstm.defaults import resolve
from bilstm.errors import DataValidationError, MonitorInputError
from bilstm.forecast_files import check_figure_path, check_table_path
from bilstm.panel import Panel, load_panel
from bilstm.panel_settings import resolve_panel
from bilstm.panel_split import checked_panel_split
from bilstm.split import Split, split_rows


def checked_split(series: Series, config: PipelineConfig) -> Split:
    """The time split of `series` for a resolved `config`, checked to leave a window in every split and a
    target that varies over the train rows (what `pipeline.split_and_scale` splits by, too)."""
    window = config.window
    rows = len(series.frame)
    split = split_rows(config.data, series.name, rows, window.lookback, window.horizon, series.source)
    check_targets_vary(series, split.train_rows)
    return split


def check_training_input(config: PipelineConfig) -> tuple[Series | Panel, PipelineConfig]:
    """Raise `DataValidationError` for what the training flow would reject after starting up; else the
    series (a panel of many with `data.series_column`) as read and the config with the settings left to
    the data filled in, for further checks."""
    with warnings.catch_warnings():  # the flow's own run of the same steps shows them
        warnings.simplefilter("ignore")
        if config.data.series_column is not None:
            panel = load_panel(config.data)
            config = resolve_panel(config, panel)
            checked_panel_split(panel, config)
            return panel, config
        series = load_series(config.data)
    config = resolve(config, series).config
    check_cycle(series, config, checked_split(series, config))
    return series, config


def check_cycle(series: Series, config: PipelineConfig, split: Split) -> None:
    """Raise `DataValidationError` where `scaler.cycle` cannot be fitted on the split's train rows."""
    if config.scaler.cycle:
        train = split.train_rows
        times = series.frame.index[train]
        fit_on_train_rows(series.values[train], times, config.scaler.cycle, series.freq, series.source)


def check_forecast_input(data: str | None, output: str, plot: str | None) -> None:
    """Raise for an output or plot path that cannot be written, or a history file that cannot be read."""
    check_table_path(output)
    if plot is not None:
        check_figure_path(plot)
    if data is not None and read_table(data).empty:
        raise DataValidationError(f"{data}: the file has no data rows")


def check_window(window: int, rows: int, source: str) -> None:
    """Raise `MonitorInputError` for a monitored window longer than the data."""
    if window > rows:
        raise MonitorInputError(
            f"--window {window}: larger than the {rows} rows of {source}; pass --window {rows} or less"
        )


def check_monitor_input(data: str | None, window: int | None) -> None:
    """Raise for a data file that cannot be read or has no rows, or a window longer than its rows."""
    source = data or builtin_path()
    table = read_table(source)
    if table.empty:
        raise DataValidationError(f"{source}: the file has no data rows")
    if window is not None:
        check_window(window, len(table), source)
