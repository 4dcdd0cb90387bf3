"""Batch-forecast tasks: check the output paths, load a registered forecaster, read the latest history,
forecast, write and log the table and its plot."""

from __future__ import annotations

import re

import mlflow
import pandas as pd
from mlflow import MlflowClient
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from bilstm import plots
from bilstm.data import Series, load_series
from bilstm.forecast_files import check_figure_path, check_table_path, write_figure, write_table
from bilstm.forecaster import Forecaster, ForecastInputError
from bilstm.messages import names
from tasks.refusals import refusals_as_bad_input
from tasks.retries import retry_if_transient


@task(cache_policy=NO_CACHE)
def check_outputs(output: str, plot: str | None) -> None:
    """Refuse a bad output or plot path before any work is done."""
    check_table_path(output)
    if plot is not None:
        check_figure_path(plot)


@task(
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
)
def load_forecaster(model_uri: str) -> Forecaster:
    """The forecaster bundle inside a registered pyfunc model (`models:/name@alias`, `models:/name/3`)."""
    with refusals_as_bad_input(lambda message: _unknown_model(model_uri, message)):
        _check_artifacts(model_uri)
        model = mlflow.pyfunc.load_model(model_uri)
    return model.unwrap_python_model().forecaster


def _unknown_model(model_uri: str, message: str) -> ForecastInputError:
    return ForecastInputError(
        f"{model_uri}: {message.rstrip('.')}; see the Models page of the MLflow UI for names and aliases, or"
        " pass --model models:/NAME/VERSION"
    )


def _check_artifacts(model_uri: str) -> None:
    """A registered version whose files are gone (artifact folder or bucket deleted) is refused at once,
    rather than failing deep inside MLflow's download after every retry."""
    match = re.fullmatch(r"models:/([^/@]+)(?:@([^/]+)|/(\d+))", model_uri)
    if match is None:
        return
    name, alias, number = match.groups()
    client = MlflowClient()
    if alias:
        version = client.get_model_version_by_alias(name, alias)
    else:
        version = client.get_model_version(name, number)
    location = client.get_model_version_download_uri(name, version.version)
    if not mlflow.artifacts.list_artifacts(artifact_uri=location):
        raise ForecastInputError(
            f"{model_uri}: the artifacts of version {version.version} are missing ({location} is empty or"
            " gone); register the model again, or point the alias at a version whose files exist"
        )


@task(cache_policy=NO_CACHE)
def read_history(forecaster: Forecaster, data: str | None) -> Series:
    """Read and validate the history with the columns the model was trained on, at least `lookback` rows."""
    fix = f"the model was trained on columns {names(forecaster.spec.input_columns)}: pass a history with them"
    history = load_series(forecaster.data_config(data), missing_column_fix=fix)
    if len(history.frame) < forecaster.spec.lookback:
        raise ForecastInputError(
            f"{history.source}: the history has {len(history.frame)} rows; the model needs the last"
            f" {forecaster.spec.lookback}: pass a longer history"
        )
    return history


@task(cache_policy=NO_CACHE)
def forecast(forecaster: Forecaster, history: Series) -> pd.DataFrame:
    """The next `horizon` steps after the history's last timestamp, in original units."""
    return forecaster.predict(history.frame)


@task(cache_policy=NO_CACHE)
def publish_forecast(table: pd.DataFrame, output: str) -> str:
    """Write the forecast file, log it to the MLflow run and as a Prefect table artifact."""
    path = write_table(table, output)
    mlflow.log_artifact(str(path))
    shown = table.assign(**{table.columns[0]: table.iloc[:, 0].astype(str)})
    create_table_artifact(
        key="forecast", table=shown.to_dict(orient="records"), description=f"Written to {path}"
    )
    return str(path.resolve())


@task(cache_policy=NO_CACHE)
def plot_forecast(
    forecaster: Forecaster, history: Series, table: pd.DataFrame, plot: str | None
) -> str | None:
    """Log the first target's recent history and forecast as `plots/forecast.png`; also write it to `plot`."""
    spec = forecaster.spec
    target = spec.target_columns[0]
    figure = plots.forecast_ahead(
        history.frame[target], table.set_index(spec.time_column)[target], spec.lookback
    )
    mlflow.log_figure(figure, "plots/forecast.png")
    return None if plot is None else str(write_figure(figure, plot).resolve())
