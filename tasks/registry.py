"""Registry tasks: warn early when the champion forecasts another job, register the trained forecaster,
and gate the champion alias, with a person's decision in between under manual approval (the MLflow side is
`tracking.registry` and `tracking.approvals`)."""

from __future__ import annotations

from prefect import get_run_logger, task

from bilstm import pipeline
from bilstm.forecaster import Forecaster
from bilstm.gate import GateEvidence
from bilstm.job import Job
from tasks.retries import IO_RETRIES
from tracking import registry
from tracking.approvals import Decision, tag_decision
from tracking.registry import Promotion, Verdict


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
    approval: Decision | None = None,
    judged: Verdict | None = None,
) -> Promotion:
    """Move `champion` to `version` only if it beats the champion of the same job and both naive baselines
    on the same windows (the evidence's: the test split or backtest folds); a champion of another job is
    never replaced. Under manual approval: once approved, against the champion of this moment."""
    promotion = registry.promote_if_better(
        model_name,
        version,
        job=job,
        evidence=evidence,
        prepared=prepared,
        forecaster=forecaster,
        approval=approval,
        judged=judged,
    )
    outcome = "promoted to champion" if promotion.promoted else "not promoted"
    get_run_logger().info("Version %s %s: %s", version, outcome, promotion.reason)
    return promotion


@task(**IO_RETRIES)
def judge_challenger(version: str, evidence: GateEvidence, job: Job, model_name: str) -> Verdict:
    """The gate's verdict on `version` against the champion, moving nothing: what a person is asked."""
    return registry.judge(model_name, version, job=job, evidence=evidence)


@task(**IO_RETRIES)
def record_decision(model_name: str, version: str, decision: Decision) -> None:
    """Tag a person's decision (or its absence) on the model version."""
    tag_decision(model_name, version, decision)


@task(**IO_RETRIES)
def keep_champion(model_name: str, version: str, reason: str, decision: Decision | None = None) -> Promotion:
    """Record that `version` is not promoted (it lost the gate, was rejected, or nobody decided in time)."""
    registry.record_outcome(model_name, version, False, reason)
    get_run_logger().info("Version %s not promoted: %s", version, reason)
    return Promotion(False, reason, registry.champion_version(model_name), decision)
