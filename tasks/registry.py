"""Registry tasks: warn early when the champion forecasts another job, register the trained forecaster,
and gate the champion alias (the MLflow side is `tracking.registry`)."""

from __future__ import annotations

from prefect import get_run_logger, task

from bilstm import pipeline
from bilstm.forecaster import Forecaster
from bilstm.gate import GateEvidence
from bilstm.job import Job
from tasks.retries import IO_RETRIES
from tracking import registry
from tracking.registry import Promotion


@task(**IO_RETRIES)
def check_champion(job: Job, model_name: str) -> str | None:
    """Warn, before training, when this job cannot replace the model name's champion; returns the warning."""
    note = registry.champion_conflict(job, model_name)
    if note is not None:
        get_run_logger().warning(note)
    return note


@task(**IO_RETRIES)
def register_model(forecaster: Forecaster, prepared: pipeline.ScaledSplit, job: Job, model_name: str) -> str:
    """Log the bundle as a pyfunc model, register a version tagged with its job, alias it `challenger`;
    returns the version."""
    return registry.register(forecaster, prepared, job, model_name)


@task(**IO_RETRIES)
def promote(
    version: str,
    forecaster: Forecaster,
    evidence: GateEvidence,
    prepared: pipeline.ScaledSplit,
    job: Job,
    model_name: str,
) -> Promotion:
    """Move `champion` to `version` only if it beats the champion of the same job and both naive baselines
    on the same windows (the evidence's: the test split or backtest folds); a champion of another job is
    never replaced."""
    promotion = registry.promote_if_better(
        model_name, version, job=job, evidence=evidence, prepared=prepared, forecaster=forecaster
    )
    outcome = "promoted to champion" if promotion.promoted else "not promoted"
    get_run_logger().info("Version %s %s: %s", version, outcome, promotion.reason)
    return promotion
