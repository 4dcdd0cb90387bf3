"""The training task: fit the Bi-LSTM, logging losses per epoch, resuming from a checkpoint on retry."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mlflow
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from bilstm import pipeline
from bilstm.bundle import Forecaster
from bilstm.config import PipelineConfig
from bilstm.training import History
from bilstm.windows import Windows
from tasks.tracking import log_epoch


def checkpoint_path(config: PipelineConfig, data_digest: str) -> Path:
    """One checkpoint per (config, data): a retry or a re-run of the same job resumes from it."""
    home = Path(os.environ.get("BILSTM_HOME", ".bilstm"))
    key = hashlib.sha256(f"{config.model_dump_json()}|{data_digest}".encode()).hexdigest()[:16]
    return home / "checkpoints" / f"{key}.pt"


@task(retries=1, cache_policy=NO_CACHE)
def train(
    prepared: pipeline.Prepared, windows: tuple[Windows, Windows], config: PipelineConfig
) -> tuple[Forecaster, History]:
    """Train on the train windows with early stopping on the validation windows."""
    checkpoint = checkpoint_path(config, prepared.series.digest())
    if checkpoint.exists():
        get_run_logger().info("Resuming from checkpoint %s", checkpoint)
    forecaster, history = pipeline.train_forecaster(prepared, windows, config, log_epoch, str(checkpoint))
    if history.resumed_from_epoch:
        get_run_logger().info("Resumed after epoch %d", history.resumed_from_epoch)
    mlflow.log_metrics(
        {
            "epochs_run": history.epochs_run,
            "best_epoch": history.best_epoch,
            "train_seconds": history.train_seconds,
            "train_samples_per_s": history.samples_per_s,
        }
    )
    return forecaster, history


@task(cache_policy=NO_CACHE)
def clear_checkpoint(config: PipelineConfig, data_digest: str) -> None:
    """Remove the checkpoint once the run is registered, so the next run trains afresh."""
    checkpoint_path(config, data_digest).unlink(missing_ok=True)
