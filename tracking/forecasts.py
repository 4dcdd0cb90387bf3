"""Recorded forecasts in MLflow: each forecast run of the experiment `bilstm-forecasts` holds what it forecast
(`forecast/forecast.csv`, the long table of `bilstm.recorded`) and tags that find it on any MLflow store:
`bilstm.kind=forecast`, `bilstm.model.name`, `bilstm.model.version`, `bilstm.forecast.issue_time`,
`bilstm.forecast.series` (the issue time: the newest of its series'). The monitor reads back those of one
model version."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

FORECAST_EXPERIMENT = "bilstm-forecasts"
RECORD_PATH = "forecast/forecast.csv"
KIND, MODEL_NAME, MODEL_VERSION = "bilstm.kind", "bilstm.model.name", "bilstm.model.version"
ISSUE_TIME = "bilstm.forecast.issue_time"
NEWEST_RUNS = 2000  # recorded forecasts looked at per monitor run: the newest, by start time


def log_recorded_forecast(record: pd.DataFrame, model_uri: str) -> None:
    """On the active (forecast) run: the long table and the tags that find it."""
    first = record.iloc[0]
    mlflow.set_tags(
        {
            KIND: "forecast",
            "bilstm.model.uri": model_uri,
            MODEL_NAME: first["model_name"],
            MODEL_VERSION: first["model_version"],
            ISSUE_TIME: record["issue_time"].max(),
            "bilstm.forecast.series": first["series"],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(RECORD_PATH).name
        record.to_csv(path, index=False)
        mlflow.log_artifact(str(path), str(Path(RECORD_PATH).parent))


def forecast_runs(model_name: str, version: str) -> dict[str, str]:
    """run id -> issue time of the newest `NEWEST_RUNS` finished forecast runs of `model_name` version
    `version`, oldest first."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(FORECAST_EXPERIMENT)
    if experiment is None:
        return {}
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=(
            f"tags.`{KIND}` = 'forecast' AND tags.`{MODEL_NAME}` = '{model_name}'"
            f" AND tags.`{MODEL_VERSION}` = '{version}' AND attributes.status = 'FINISHED'"
        ),
        max_results=NEWEST_RUNS,
        order_by=["attributes.start_time DESC"],
    )
    return {run.info.run_id: run.data.tags[ISSUE_TIME] for run in reversed(runs)}


def read_records(run_ids: list[str]) -> pd.DataFrame | None:
    """The recorded tables of the forecast runs `run_ids`, in that order; None for no runs."""
    tables = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, run_id in enumerate(run_ids):
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=RECORD_PATH, dst_path=f"{tmp}/{i}"
            )
            text = {"model_version": str, "issue_time": str, "series_id": str}
            tables.append(pd.read_csv(path, dtype=text))
    return pd.concat(tables, ignore_index=True) if tables else None
