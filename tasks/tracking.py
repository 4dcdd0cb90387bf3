"""MLflow set-up for a flow run: the tracking URI, params and tags, and the per-epoch logger."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import mlflow
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from bilstm.config import PipelineConfig, flatten

DEFAULT_DB = "mlflow.db"


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` if set, else a SQLite file in the working directory (what `mlflow ui` reads)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def use_tracking(experiment: str) -> str:
    """Point MLflow at the tracking store and experiment; returns the URI."""
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment(experiment)
    return uri


def without_credentials(url: str) -> str:
    """`http://user:secret@host:5000/x` -> `http://host:5000/x`: links and logs never carry a password."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


def run_url(run: mlflow.ActiveRun | mlflow.entities.Run) -> str:
    """The run's page in the MLflow UI: the tracking server's own, or `mlflow ui`'s default address."""
    uri = mlflow.get_tracking_uri()
    if not uri.startswith("http"):
        uri = os.environ.get("BILSTM_MLFLOW_UI", "http://127.0.0.1:5000")
    base = without_credentials(uri).rstrip("/")
    return f"{base}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"


@task(cache_policy=NO_CACHE)
def start_tracking(config: PipelineConfig) -> None:
    """Log the flattened config as params and link the MLflow run to this Prefect flow run."""
    mlflow.log_params(flatten(config))
    tags = {"prefect.flow_run_id": str(flow_run.id), "prefect.flow_run_name": flow_run.name or ""}
    if flow_run.ui_url:
        tags["prefect.flow_run_url"] = flow_run.ui_url
    mlflow.set_tags(tags)


def log_epoch(epoch: int, losses: dict[str, float]) -> None:
    """`on_epoch_end` callback: train_loss, val_loss and the learning rate with step=epoch."""
    mlflow.log_metrics(losses, step=epoch)
