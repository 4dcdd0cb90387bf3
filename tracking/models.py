"""The forecaster as an MLflow pyfunc model: logged from code (`pyfunc_model.py`) with a signature, an
input example and pinned requirements, and loaded back from a registered URI (`models:/name@alias`)."""

from __future__ import annotations

import tempfile
from importlib import metadata
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema

from bilstm import pipeline
from bilstm.forecaster import Forecaster, ForecastInputError
from bilstm.stamps import as_text
from tracking.refusals import refusals_as_bad_input
from tracking.versions import unknown_model

PYFUNC_MODEL = str(Path(__file__).with_name("pyfunc_model.py"))


def history_example(prepared: pipeline.ScaledSplit, forecaster: Forecaster) -> pd.DataFrame:
    """The last `lookback` rows of the first two series (of the one series, for a file without a series
    column): the pyfunc's input example (stamps with offsets as text in the data's zone: MLflow's schema
    takes no zoned datetimes; `Forecaster.predict` reads both). For a model with future columns, the
    lookback rows end `horizon` rows earlier, and the `horizon` rows after them follow with only the future
    columns filled: the future rows the pyfunc model takes in the same table. Every row holds its series'
    static columns, where the model has them."""
    series, spec = prepared.series, forecaster.spec
    length = spec.lookback + (spec.horizon if spec.future_columns else 0)
    ends = series.offsets[1:3]
    rows = np.concatenate([np.arange(end - length, end) for end in ends])
    frame = series.frame[series.file_columns].iloc[rows].reset_index()
    future_rows = np.tile(np.arange(length) >= spec.lookback, len(ends))
    frame.loc[future_rows, [c for c in series.file_columns if c not in spec.future_columns]] = np.nan
    if series.statics is not None:  # each row holds its series' static values
        row_series = series.row_series[rows]
        for column in series.statics.columns:
            frame[column] = series.statics[column].to_numpy()[row_series]
    if series.series_column is not None:
        frame.insert(0, series.series_column, np.repeat(series.ids, series.lengths)[rows])
    return as_text(frame, forecaster.spec.timezone)


def _requirements() -> list[str]:
    return [
        f"{name}=={metadata.version(name)}" for name in ("torch", "pandas", "numpy", "scikit-learn", "mlflow")
    ]


def signature(forecaster: Forecaster, example: pd.DataFrame) -> ModelSignature:
    """The pyfunc's signature: the history's columns and types as in `example`, each optional, and the
    forecast's. Optional, so that a history without a column reaches the forecaster, whose one line names
    it (MLflow's own check would answer a server's client with the whole input frame)."""
    inferred = infer_signature(example, as_text(forecaster.predict_table(example), forecaster.spec.timezone))
    inputs = Schema([ColSpec(column.type, column.name, required=False) for column in inferred.inputs.inputs])
    return ModelSignature(inputs, inferred.outputs)


def log_model(forecaster: Forecaster, example: pd.DataFrame, model_name: str) -> str:
    """Log the bundle as the active run's `model` and register it under `model_name`; returns the version."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = forecaster.save(Path(tmp) / "bundle")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=PYFUNC_MODEL,
            artifacts={"bundle": str(bundle)},
            signature=signature(forecaster, example),
            input_example=example,
            registered_model_name=model_name,
            pip_requirements=_requirements(),
        )
    return str(info.registered_model_version)


def registered_forecaster(model_uri: str) -> Forecaster:
    """The forecaster bundle inside a registered pyfunc model."""
    return mlflow.pyfunc.load_model(model_uri).unwrap_python_model().forecaster


def load_forecaster(model_uri: str, found: tuple[str, str, str] | None) -> Forecaster:
    """The forecaster of `model_uri`. `found` is what `tracking.versions.registered_version` resolved it to:
    that version is loaded without resolving the URI again (None: a run's model, loaded from the URI). A
    version whose files are gone, or whose bundle is damaged, is refused as a `ForecastInputError`."""
    with refusals_as_bad_input(lambda message: unknown_model(model_uri, message)):
        if found is None:
            return _bundle_of(model_uri, model_uri)
        name, version, _ = found
        _check_artifacts(model_uri, name, version)
        return _bundle_of(model_uri, f"models:/{name}/{version}")


def _bundle_of(model_uri: str, uri: str) -> Forecaster:
    """`registered_forecaster(uri)`; a bundle that cannot be loaded (its weights file deleted or replaced)
    is refused naming `model_uri`, as the file's path is one in MLflow's download folder."""
    try:
        return registered_forecaster(uri)
    except ForecastInputError as error:
        raise ForecastInputError(f"{model_uri}: {error}") from None


def _check_artifacts(model_uri: str, name: str, version: str) -> None:
    """A registered version whose files are gone (artifact folder or bucket deleted) is refused at once,
    rather than failing deep inside MLflow's download after every retry."""
    location = MlflowClient().get_model_version_download_uri(name, version)
    if not mlflow.artifacts.list_artifacts(artifact_uri=location):
        raise ForecastInputError(
            f"{model_uri}: the artifacts of version {version} are missing ({location} is empty or"
            " gone); register the model again, or point the alias at a version whose files exist"
        )
