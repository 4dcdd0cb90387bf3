"""The training tasks: claim the job's checkpoint, fit the Bi-LSTM logging losses per epoch (resuming from
the checkpoint on a retry or a re-run), and clear the checkpoint once the run is registered.

The claim (`tasks.checkpoints`) is held from training until registration: a re-run of a killed job resumes
its checkpoint, a concurrent run of the same job trains on a private one. The flow passes the claim on.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mlflow
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from bilstm import pipeline
from bilstm.config import PipelineConfig
from bilstm.forecaster import Forecaster
from bilstm.intervals import shortfall_warnings
from bilstm.training import TrainingLog
from bilstm.windows import Windows
from tasks import checkpoints
from tasks.retries import retry_if_transient
from tracking.runs import end_killed_run, log_epoch


def checkpoint_path(config: PipelineConfig, data_digest: str) -> Path:
    """One checkpoint per (config, data): a retry or a re-run of the same job resumes from it."""
    home = Path(os.environ.get("BILSTM_HOME", ".bilstm"))
    key = hashlib.sha256(f"{config.model_dump_json()}|{data_digest}".encode()).hexdigest()[:16]
    return home / "checkpoints" / f"{key}.pt"


@task(retries=1, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE)
def claim_checkpoint(config: PipelineConfig, data_digest: str) -> checkpoints.Claim:
    """This run's claim on the job's checkpoint; the MLflow run of a killed earlier owner is marked KILLED."""
    path, run_id = checkpoint_path(config, data_digest), mlflow.active_run().info.run_id
    logger = get_run_logger()
    # a retry of this task finds the claim it made (the owner is this process) and keeps it
    claim = checkpoints.claim(path, owner={"run_id": run_id})
    if not claim.shared:
        logger.warning("Checkpoint %s is in use by a concurrent run; training on %s", path, claim.path)
    previous = claim.previous_owner or {}
    killed = previous.get("run_id")
    if killed and killed != run_id and end_killed_run(killed, resumed_by=run_id):
        logger.info("MLflow run %s of a killed process (%s) marked KILLED", killed, previous.get("pid"))
    return claim


@task(retries=1, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE)
def train(
    prepared: pipeline.ScaledSplit,
    windows: tuple[Windows, Windows],
    config: PipelineConfig,
    claim: checkpoints.Claim,
) -> tuple[Forecaster, TrainingLog]:
    """Train on the train windows with early stopping on the validation windows, checkpointing each epoch
    to the claimed file (a retry resumes from it); tag the targets floored at 0 and how intervals of many
    series were calibrated, and warn of interval levels the validation windows cannot support."""
    if claim.path.exists():
        get_run_logger().info("Resuming from checkpoint %s", claim.path)
    forecaster = pipeline.new_forecaster(prepared, config)
    mlflow.set_tag("data.nonnegative_targets", ",".join(forecaster.nonnegative) or "none")
    training_log = pipeline.fit_forecaster(forecaster, windows, config, log_epoch, str(claim.path))
    for warning in shortfall_warnings(forecaster.intervals):
        get_run_logger().warning(warning)
    if forecaster.intervals is not None and forecaster.intervals.choice:  # many series: pooled or per series
        mlflow.set_tag("intervals.pooling", forecaster.intervals.pooling)
        get_run_logger().info(forecaster.intervals.choice)
    if training_log.resumed_from_epoch:
        get_run_logger().info("Resumed after epoch %d", training_log.resumed_from_epoch)
    # epoch 0 of the validation curve: the weights training started from (the linear warm start)
    mlflow.log_metric("val_loss", training_log.start_val_loss, step=0)
    if training_log.best_epoch == 0:
        get_run_logger().info(pipeline.kept_start_note(config))
    if training_log.members:  # an ensemble: one run, each member's validation loss beside the combined
        log_ensemble(forecaster, training_log)
    mlflow.log_metrics(
        {
            "epochs_run": training_log.epochs_run,
            "best_epoch": training_log.best_epoch,
            "train_seconds": training_log.train_seconds,
            "train_samples_per_s": training_log.samples_per_s,
        }
    )
    return forecaster, training_log


def log_ensemble(forecaster: Forecaster, training_log: TrainingLog) -> None:
    """Each member's best validation loss (`member_<i>_best_val_loss`), the combined forecast's by median
    and by mean (`ensemble_val_loss_median`, `_mean`), and the combination kept (tag
    `model.ensemble_combined_by`)."""
    members = {f"member_{i}_best_val_loss": log.best_val_loss for i, log in enumerate(training_log.members)}
    combined = {f"ensemble_val_loss_{name}": loss for name, loss in training_log.combination_losses.items()}
    mlflow.log_metrics(members | combined)
    mlflow.set_tag("model.ensemble_combined_by", "median" if bool(forecaster.model.median) else "mean")


@task(cache_policy=NO_CACHE)
def clear_checkpoint(claim: checkpoints.Claim) -> None:
    """Remove the checkpoint once the run is registered, so the next run trains afresh."""
    claim.release(remove=True)
