"""The command line's checks of its input before anything heavy starts (Prefect's server, torch, MLflow), so
a bad input is rejected in about a second: for `bilstm train` the file, its columns and timestamps, and the
config against the data; for `bilstm forecast` the history file and the output paths; for `bilstm monitor`
the data file and the window against its rows; for both, the file's columns, frequency and zone against the
job the registry tagged on the model. The flows check the same again, where they run without the CLI (a
deployment, the dashboard); the checks they share are the core's `bilstm.input_checks`.
"""

from __future__ import annotations

import warnings

import pandas as pd

from bilstm.config import CsvConfig, PipelineConfig
from bilstm.csv_dialect import separator_hint
from bilstm.data import SeriesTable, builtin_path, load_table, read_table
from bilstm.defaults import resolve
from bilstm.errors import DataValidationError, MonitorInputError
from bilstm.frequency_match import check_frequency, table_freq
from bilstm.input_checks import check_cycle, check_positive, check_window
from bilstm.job import Job
from bilstm.messages import names, sample
from bilstm.split import split_table
from bilstm.zone_match import check_zone
from deployments.config_layers import ConfigError
from tasks import read_once
from tasks.forecast_files import check_figure_path, check_table_path


def check_training_input(config: PipelineConfig) -> tuple[SeriesTable, PipelineConfig]:
    """Raise `DataValidationError` for what the training flow would reject after starting up; else the
    series as read and the config with the settings left to the data filled in, for further checks."""
    check_device(config.train.device)
    with warnings.catch_warnings():  # the flow's own run of the same steps shows them
        warnings.simplefilter("ignore")
        # kept for the flow this command runs next, which then takes it instead of reading the file again
        series = read_once.keep(load_table, config.data)
        config = resolve(config, series).config
        series, split = split_table(series, config)
    check_cycle(series, config, split)
    check_positive(series, config)
    return series, config


def check_device(name: str) -> None:
    """Raise `ConfigError` for a `train.device` of CUDA where this machine has none (or not that many GPUs):
    found here in a second, where the flow would find it after starting up. Torch is imported only then."""
    if not name.startswith("cuda"):
        return
    import torch

    try:
        index = torch.device(name).index or 0
    except RuntimeError:  # cudax, cuda:x
        raise ConfigError(
            f"train.device={name!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:N'"
        ) from None
    if not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but CUDA is not available here; use 'auto' or 'cpu'")
    if index >= torch.cuda.device_count():
        raise ConfigError(
            f"train.device={name!r} but this machine has {torch.cuda.device_count()} GPU(s); use cuda:0 to"
            f" cuda:{torch.cuda.device_count() - 1}, 'auto' or 'cpu'"
        )


def check_forecast_input(
    data: str | None,
    output: str,
    plot: str | None,
    csv: CsvConfig | None = None,
    future_data: str | None = None,
) -> pd.DataFrame:
    """Raise for an output or plot path that cannot be written, or a history file (or future data file)
    that cannot be read or has no rows; else the history as read."""
    check_table_path(output)
    if plot is not None:
        check_figure_path(plot)
    if future_data is not None:
        _rows_of(future_data, csv)
    return _rows_of(data, csv)


def check_monitor_input(data: str | None, window: int | None, csv: CsvConfig | None = None) -> pd.DataFrame:
    """Raise for a data file that cannot be read or has no rows, or a window longer than its rows; else the
    data as read."""
    table = _rows_of(data, csv)
    if window is not None:
        check_window(window, len(table), data or builtin_path())
    return table


def _rows_of(data: str | None, csv: CsvConfig | None) -> pd.DataFrame:
    source = data or builtin_path()
    table = read_table(source, csv)
    if table.empty:
        raise DataValidationError(f"{source}: the file has no data rows")
    return table


def check_model_columns(table: pd.DataFrame, data: str | None, job: Job, what: str) -> None:
    """Raise `DataValidationError` for a table (`data`; None: the built-in set) without a column the model
    of `job` reads: its time column, its series column (many series) and the columns it was trained on;
    `what` names the table in the fix ("a history")."""
    source = data or builtin_path()
    if job.series_column is not None and data is None:
        raise DataValidationError(
            f"this model forecasts many series: pass their history as a long table with --data (columns"
            f" {job.series_column}, {job.time_column}, {names(job.inputs)})"
        )
    targets_first = [*job.targets, *(c for c in job.inputs if c not in job.targets)]  # as the flow reads
    kinds = [("time column", job.time_column), ("series column", job.series_column)]
    for kind, column in [*kinds, *(("column", c) for c in targets_first)]:
        if column is not None and column not in table.columns:
            fix = f"the model was trained on columns {names(job.inputs)}: pass {what} with them"
            if kind != "column":
                fix = f"the model reads its {kind} {sample(column)}: pass {what} with it"
            raise DataValidationError(
                f"{source}: {kind} {sample(column)} not found; available: {names(table.columns)}"
                + (separator_hint(table.columns) or f"; {fix}")
            )


def check_model_frequency(table: pd.DataFrame, data: str | None, job: Job) -> None:
    """Raise `DataValidationError` for a table (`data`; None: the built-in set) whose stamps step at another
    frequency than the model of `job` (daily data for an hourly model); stamps whose frequency cannot be
    told here are left to the flow's reading, which names what is wrong with them."""
    source = data or builtin_path()
    freq = table_freq(table, source, job.time_column, job.series_column)
    if freq is not None:
        check_frequency(freq, job.freq, source)


def check_model_zone(table: pd.DataFrame, data: str | None, job: Job) -> None:
    """Raise `DataValidationError` for a table (`data`; None: the built-in set) whose stamps are in a zone
    the model of `job` cannot read them in (`bilstm.zone_match`)."""
    check_zone(table, data or builtin_path(), job.time_column, job.timezone, job.freq)


def check_monitored_model(model_uri: str, registered: bool) -> None:
    """Raise `MonitorInputError` for a model the monitor cannot score: not a registered version (it has no
    promise)."""
    if not registered:
        raise MonitorInputError(
            f"--model {model_uri}: not a registered model; pass models:/NAME@ALIAS or models:/NAME/VERSION"
        )
