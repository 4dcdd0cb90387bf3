"""The training task: fit the Bi-LSTM, logging losses per epoch, resuming from a checkpoint on retry.

The checkpoint is claimed (`bilstm.checkpoints`) from training until the run is registered: a re-run of a
killed job resumes it, a concurrent run of the same job trains on a private one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from bilstm import checkpoints, pipeline
from bilstm.config import PipelineConfig
from bilstm.forecaster import Forecaster
from bilstm.training import TrainingLog
from bilstm.windows import Windows
from tasks.retries import retry_if_transient
from tasks.tracking import log_epoch

# job checkpoint -> this process's claim on it, kept from `train` to `clear_checkpoint` (and across retries)
_claims: dict[Path, checkpoints.Claim] = {}


def checkpoint_path(config: PipelineConfig, data_digest: str) -> Path:
    """One checkpoint per (config, data): a retry or a re-run of the same job resumes from it."""
    home = Path(os.environ.get("BILSTM_HOME", ".bilstm"))
    key = hashlib.sha256(f"{config.model_dump_json()}|{data_digest}".encode()).hexdigest()[:16]
    return home / "checkpoints" / f"{key}.pt"


def _claim(path: Path) -> checkpoints.Claim:
    """This process's claim on the job's checkpoint; marks the MLflow run of a killed owner KILLED."""
    if path in _claims:  # a retry in this process keeps its checkpoint
        return _claims[path]
    run_id, logger = mlflow.active_run().info.run_id, get_run_logger()
    claim = _claims[path] = checkpoints.claim(path, note=f"pid={os.getpid()} run_id={run_id}")
    if not claim.shared:
        logger.warning("Checkpoint %s is in use by a concurrent run; training on %s", path, claim.path)
    previous = dict(item.partition("=")[::2] for item in claim.previous_note.split())
    killed = previous.get("run_id")
    if killed and killed != run_id:
        client = MlflowClient()
        if client.get_run(killed).info.status == "RUNNING":
            # its process died without closing the run (kill -9): it would show as running forever
            client.set_tag(killed, "resumed_by_run", run_id)
            client.set_terminated(killed, "KILLED")
            logger.info("MLflow run %s of a killed process (%s) marked KILLED", killed, previous.get("pid"))
    return claim


@task(retries=1, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE)
def train(
    prepared: pipeline.ScaledSplit, windows: tuple[Windows, Windows], config: PipelineConfig
) -> tuple[Forecaster, TrainingLog]:
    """Train on the train windows with early stopping on the validation windows."""
    checkpoint = _claim(checkpoint_path(config, prepared.series.digest())).path
    if checkpoint.exists():
        get_run_logger().info("Resuming from checkpoint %s", checkpoint)
    forecaster = pipeline.new_forecaster(prepared, config)
    training_log = pipeline.fit_forecaster(forecaster, windows, config, log_epoch, str(checkpoint))
    if training_log.resumed_from_epoch:
        get_run_logger().info("Resumed after epoch %d", training_log.resumed_from_epoch)
    # epoch 0 of the validation curve: the weights training started from (the linear warm start)
    mlflow.log_metric("val_loss", training_log.start_val_loss, step=0)
    if training_log.best_epoch == 0:
        get_run_logger().info(pipeline.kept_start_note(config))
    mlflow.log_metrics(
        {
            "epochs_run": training_log.epochs_run,
            "best_epoch": training_log.best_epoch,
            "train_seconds": training_log.train_seconds,
            "train_samples_per_s": training_log.samples_per_s,
        }
    )
    return forecaster, training_log


@task(cache_policy=NO_CACHE)
def clear_checkpoint(config: PipelineConfig, data_digest: str) -> None:
    """Remove the checkpoint once the run is registered, so the next run trains afresh."""
    path = checkpoint_path(config, data_digest)
    claim = _claims.pop(path, None)
    if claim is not None:
        claim.release(remove=True)
