"""Batch-forecast tasks: check the output paths, load a registered forecaster, read the latest history,
forecast, write and log the table and its plot, and record what was forecast for the monitor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from bilstm import forecast_plots, recorded
from bilstm.config import CsvConfig
from bilstm.csv_dialect import separator_hint
from bilstm.data import SeriesTable, read_table
from bilstm.errors import FutureDataError
from bilstm.forecaster import Forecaster, ForecastInputError
from bilstm.frequency_match import check_frequency, table_freq
from bilstm.history import history_arrays
from bilstm.messages import names
from bilstm.zone_match import check_zone
from tasks.data import read_as_model_reads
from tasks.forecast_files import check_figure_path, check_table_path, write_figure, write_table
from tasks.retries import IO_RETRIES
from tracking import forecasts, models, runs, versions


@task(cache_policy=NO_CACHE)
def check_outputs(output: str, plot: str | None) -> None:
    """Refuse a bad output or plot path before any work is done."""
    check_table_path(output)
    if plot is not None:
        check_figure_path(plot)


@task(**IO_RETRIES)
def find_registered_version(model_uri: str) -> tuple[str, str, str] | None:
    """(name, version, training run id) of `models:/name@alias` or `models:/name/3`, resolved once per
    forecast; None for a run's model. An unknown name, alias or version is refused."""
    return versions.registered_version(model_uri)


@task(**IO_RETRIES)
def load_forecaster(model_uri: str, found: tuple[str, str, str] | None) -> Forecaster:
    """The forecaster bundle inside the pyfunc model of `model_uri`, the version `found` resolved it to."""
    return models.load_forecaster(model_uri, found)


@task(cache_policy=NO_CACHE)
def read_history(forecaster: Forecaster, data: str | None, csv: CsvConfig | None = None) -> SeriesTable:
    """Read and validate the history with the columns the model was trained on, at its frequency, at least
    `lookback` rows."""
    history = read_as_model_reads(forecaster, data, csv, "a history")
    if len(history.frame) < forecaster.spec.lookback:
        raise ForecastInputError(
            f"{history.source}: the history has {len(history.frame)} rows; the model needs the last"
            f" {forecaster.spec.lookback}: pass a longer history"
        )
    return history


@task(cache_policy=NO_CACHE)
def read_long_history(forecaster: Forecaster, data: str | None, csv: CsvConfig | None = None) -> pd.DataFrame:
    """The long history table of a model of many series, which only `data` can give, at the model's
    frequency and in a zone it can read."""
    if data is None:
        raise ForecastInputError(
            f"this model forecasts many series: pass their history as a long table with --data (columns"
            f" {forecaster.spec.series_column}, {forecaster.spec.time_column},"
            f" {names(forecaster.spec.file_columns)})"
        )
    table = read_table(data, csv)
    spec = forecaster.spec
    freq = table_freq(table, data, spec.time_column, spec.series_column)
    if freq is not None:  # else the forecaster's own reading of the stamps says what is wrong with them
        check_frequency(freq, spec.freq, data)
    check_zone(table, data, spec.time_column, spec.recorded_zone, spec.freq)
    return table


@task(cache_policy=NO_CACHE)
def read_future_data(future_data: str | None, csv: CsvConfig | None = None) -> pd.DataFrame | None:
    """The values of the covariates known in advance over the horizon (`--future-data`); None without."""
    return None if future_data is None else read_table(future_data, csv)


@task(cache_policy=NO_CACHE)
def forecast_many(
    forecaster: Forecaster,
    history: pd.DataFrame,
    data: str,
    skip_short: bool,
    future: pd.DataFrame | None = None,
    future_data: str | None = None,
) -> pd.DataFrame:
    """Per series of the long `history` table (read from `data`), the next `horizon` steps after that
    series' last stamp; `future`: the covariates known in advance over them (read from `future_data`)."""
    try:
        with future_data_named(future_data):
            return forecaster.predict(history, skip_short=skip_short, future=future)
    except ForecastInputError as error:
        raise ForecastInputError(f"{data}: {error}{separator_hint(history.columns)}") from None


@task(cache_policy=NO_CACHE)
def forecast(
    forecaster: Forecaster,
    history: SeriesTable,
    future: pd.DataFrame | None = None,
    future_data: str | None = None,
) -> pd.DataFrame:
    """The next `horizon` steps after the history's last timestamp, in original units; `future`: the
    covariates known in advance over them (read from `future_data`)."""
    with future_data_named(future_data):
        return forecaster.predict(history.frame, future=future)


@contextmanager
def future_data_named(future_data: str | None) -> Iterator[None]:
    """A refusal of the future data, its file's name first."""
    try:
        yield
    except FutureDataError as error:
        raise FutureDataError(f"{future_data}: {error}" if future_data else str(error)) from None


@task(cache_policy=NO_CACHE)
def publish_forecast(table: pd.DataFrame, output: str) -> str:
    """Write the forecast file, log it to the MLflow run and as a Prefect table artifact."""
    path = write_table(table, output)
    mlflow.log_artifact(str(path))
    stamps = [c for c in table.columns if pd.api.types.is_datetime64_any_dtype(table[c])]
    shown = table.assign(**{c: table[c].astype(str) for c in stamps})  # an artifact's table is JSON
    create_table_artifact(
        key="forecast", table=shown.to_dict(orient="records"), description=f"Written to {path}"
    )
    return str(path.resolve())


@task(cache_policy=NO_CACHE)
def plot_forecast(
    forecaster: Forecaster, history: SeriesTable, table: pd.DataFrame, plot: str | None
) -> str | None:
    """Log the first target's recent history and forecast, with its bands, as `plots/forecast.png`; also
    write it to `plot`."""
    spec = forecaster.spec
    figure = forecast_plots.forecast_ahead(
        history.frame[spec.target_columns[0]], table.set_index(spec.time_column), spec.lookback
    )
    return _publish_figure(figure, plot)


@task(cache_policy=NO_CACHE)
def plot_many_forecasts(
    forecaster: Forecaster,
    history: pd.DataFrame,
    table: pd.DataFrame,
    plot: str | None,
    found: tuple[str, str, str] | None,
) -> str | None:
    """Log the recent history and forecast (first target, with its bands) of the best, median and worst
    series by the registered version's (`found`) test sMAPE, else of the first few, as `plots/forecast.png`;
    also write it to `plot`."""
    spec = forecaster.spec
    target = spec.target_columns[0]
    ids, times, values = history_arrays(forecaster.spec, history)
    observed = pd.DataFrame(
        {spec.series_column: ids, target: values[:, spec.input_columns.index(target)]}, index=times
    )
    by_series = None if found is None else runs.series_metrics(found[2])
    forecast_ids = table[spec.series_column].astype(str).unique()
    picks = (
        None
        if by_series is None
        else forecast_plots.ranked_picks(by_series, spec.series_column, forecast_ids)
    )
    figure = forecast_plots.series_forecasts_ahead(
        observed, table.set_index(spec.time_column), spec.series_column, spec.lookback, picks=picks
    )
    return _publish_figure(figure, plot)


def _publish_figure(figure: Figure, plot: str | None) -> str | None:
    mlflow.log_figure(figure, "plots/forecast.png")
    return None if plot is None else str(write_figure(figure, plot).resolve())


@task(**IO_RETRIES)
def record_forecast(
    forecaster: Forecaster,
    history: pd.DataFrame,
    table: pd.DataFrame,
    model_uri: str,
    found: tuple[str, str, str] | None,
    data_name: str,
    future: pd.DataFrame | None = None,
) -> None:
    """Log what was forecast, by which registered version (`found`), from which issue time (each series'
    last stamp in `history`), as `forecast/forecast.csv` and tags on the run (`bilstm.kind=forecast`,
    `bilstm.model.name`, ...), where the monitor finds it; with the values of the `future` table it read."""
    name, version, _ = found or ("", "", "")  # a run's model has no version
    issue_times = recorded.last_stamps(forecaster.spec, history)
    record = recorded.record(table, forecaster.spec, (name, version), issue_times, data_name, future)
    forecasts.log_recorded_forecast(record, model_uri)
