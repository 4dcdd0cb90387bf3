"""MLflow runs: one opened per flow run and marked FAILED if the flow fails (even while the server is away
for a while), the run of a killed process marked KILLED, per-epoch losses, a run's link in the UI, and a
training run's per-series test metrics read back."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
import pandas as pd
from mlflow import MlflowClient

from tracking.disk_space import is_full_disk
from tracking.retries import retried
from tracking.urls import without_credentials

log = logging.getLogger(__name__)

SERIES_METRICS = "metrics_by_series.csv"  # logged by the training flow for a model of many series


@contextmanager
def tracked_run(run_name: str | None) -> Iterator[mlflow.ActiveRun]:
    """`mlflow.start_run` whose run, if the block fails, is marked FAILED even when the tracking server is
    away for a while (tried again after each of `retry_delays`): a failed run must not show RUNNING."""
    run = mlflow.start_run(run_name=run_name)
    try:
        yield run
    except BaseException:
        _end_failed(run.info.run_id)
        raise
    mlflow.end_run()


def _end_failed(run_id: str) -> None:
    def mark_failed() -> None:
        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            mlflow.end_run("FAILED")  # leaves the active-run stack even if the server call fails
        else:
            MlflowClient().set_terminated(run_id, "FAILED")

    try:
        # any error but a full disk is worth another try here: the server may be back, and the run is
        # otherwise left RUNNING; a full store stays full while the command waits
        retried(mark_failed, f"MLflow run {run_id} not marked FAILED yet", lambda e: not is_full_disk(e))
    except Exception as error:  # noqa: BLE001 - the flow's own error is the one to report
        why = "its store's disk is full" if is_full_disk(error) else type(error).__name__
        log.error("MLflow run %s could not be marked FAILED (%s): it shows RUNNING", run_id, why)


def end_killed_run(run_id: str, resumed_by: str, nested: bool = False) -> bool:
    """Mark KILLED the run of a process that died without closing it (kill -9), so it does not show as
    running forever, and with `nested` its nested runs still RUNNING; tag it with the run that resumed its
    work. False if it had ended already."""
    client = MlflowClient()
    run = client.get_run(run_id)
    if run.info.status != "RUNNING":
        return False
    if nested:
        children = client.search_runs(
            [run.info.experiment_id],
            f"tags.`mlflow.parentRunId` = '{run_id}' and attributes.status = 'RUNNING'",
        )
        for child in children:
            client.set_terminated(child.info.run_id, "KILLED")
    client.set_tag(run_id, "resumed_by_run", resumed_by)
    client.set_terminated(run_id, "KILLED")
    return True


def log_epoch(epoch: int, losses: dict[str, float]) -> None:
    """`on_epoch_end` callback: train_loss, val_loss and the learning rate with step=epoch."""
    mlflow.log_metrics(losses, step=epoch)


def run_url(run: mlflow.ActiveRun | mlflow.entities.Run) -> str:
    """The run's page in the MLflow UI: the tracking server's own, or `mlflow ui`'s default address."""
    uri = mlflow.get_tracking_uri()
    if not uri.startswith("http"):
        uri = os.environ.get("BILSTM_MLFLOW_UI", "http://127.0.0.1:5000")
    base = without_credentials(uri).rstrip("/")
    return f"{base}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"


def series_metrics(run_id: str) -> pd.DataFrame | None:
    """The training run's `metrics_by_series.csv` (a model of many series); None where it has none."""
    if SERIES_METRICS not in {artifact.path for artifact in MlflowClient().list_artifacts(run_id)}:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=SERIES_METRICS, dst_path=tmp)
        return pd.read_csv(path)
