"""Retrain tasks: read the config that the champion was trained with (the job a retrain trains again), and
tag the retrain's training run with the version it retrained and why (the MLflow side is
`tracking.configs`)."""

from __future__ import annotations

from mlflow import MlflowClient
from prefect import get_run_logger, task

from bilstm.config import PipelineConfig
from tasks.retries import IO_RETRIES
from tracking.configs import champion_config


@task(**IO_RETRIES)
def read_champion_config(model_name: str) -> tuple[str, PipelineConfig]:
    """(the champion's version, the config it was trained with)."""
    version, config = champion_config(model_name)
    data = config.data.path or "the built-in data set"
    get_run_logger().info(
        "Retraining champion v%s of %s: its config, on %s as it is now", version, model_name, data
    )
    return version, config


@task(**IO_RETRIES)
def tag_retrain(run_id: str, retrained_version: str, reason: str) -> None:
    """Tag the training run with the champion version it retrained and the reason (the triggering event)."""
    client = MlflowClient()
    client.set_tag(run_id, "retrain.of_version", retrained_version)
    client.set_tag(run_id, "retrain.reason", reason)
