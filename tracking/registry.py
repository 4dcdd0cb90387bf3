"""The model registry: register a run's forecaster as a version aliased `challenger`, and move `champion`
to it only if the champion forecasts the same job and the version beats it on the same test windows (under
manual approval, once a person approved it: `judge` is the gate's verdict they are shown)."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from bilstm import pipeline
from bilstm.evaluation import IncomparableModelError, promotion_decision
from bilstm.forecaster import Forecaster
from bilstm.gate import GateEvidence
from bilstm.job import Job
from bilstm.messages import clip
from tracking.approvals import Decision
from tracking.champion_history import CHALLENGER, CHAMPION, PREVIOUS, PROMOTION_TAG, record_move
from tracking.models import history_example, log_model, registered_forecaster
from tracking.promotion_lock import promotion_lock
from tracking.refusals import refusals_as_bad_input


@dataclass
class Promotion:
    promoted: bool
    reason: str
    champion_version: str | None  # the champion after this decision
    approval: Decision | None = None  # a person's decision, under manual approval


@dataclass
class Verdict:
    """The gate's decision on a version before anything moves: what a person approves or rejects."""

    promote: bool
    reason: str
    champion_version: str | None  # the champion it was judged against
    champion_score: float | None  # that champion's score on the gate's windows, if it was scored


def champion_version(name: str) -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def champion_job(client: MlflowClient, model_name: str, version: str) -> Job:
    """The job of a registered version: from its tags, or, for a version registered before jobs were
    recorded, from its bundle's window spec and its run's data set."""
    model_version = client.get_model_version(model_name, version)
    job = Job.from_tags(model_version.tags)
    if job is not None:
        return job
    spec = registered_forecaster(f"models:/{model_name}/{version}").spec
    datasets = client.get_run(model_version.run_id).inputs.dataset_inputs
    data = datasets[0].dataset.name if datasets else "unknown"
    return Job.of(
        data,
        spec.time_column,
        spec.file_columns,
        spec.target_columns,
        spec.horizon,
        spec.freq,
        spec.series_column,
    )


def _other_job_note(version: str, differences: list[str]) -> str:
    """Why `version`, the champion, stays: short enough for one line of the summary or a Prefect log."""
    shown = "; ".join(clip(difference, 36) for difference in differences[:2])
    more = f"; {len(differences) - 2} more" if len(differences) > 2 else ""
    return (
        f"champion v{version} forecasts another job (this run vs it: {shown}{more}), so it stays; give this"
        " job its own name: --set registry.model_name=NAME"
    )


def champion_conflict(job: Job, model_name: str) -> str | None:
    """Why a version of `job` cannot replace the model name's champion (it forecasts another job), if so."""
    current = champion_version(model_name)
    if current is None:
        return None
    differences = job.differences(champion_job(MlflowClient(), model_name, current))
    if not differences:
        return None
    return "This run's version will not be promoted: " + _other_job_note(current, differences)


def register(forecaster: Forecaster, prepared: pipeline.ScaledSplit, job: Job, model_name: str) -> str:
    """Log the bundle as a pyfunc model, register a version tagged with its job, alias it `challenger`;
    returns the version. Registers once per run: a retry after a partial success finds its version and
    finishes it (its job tags and alias, which a server lost after the version was created never got)."""
    client, run_id = MlflowClient(), mlflow.active_run().info.run_id
    # MLflow refuses a model name it cannot register (`a/b`, blank): registry.model_name is the user's
    with refusals_as_bad_input():
        existing = client.search_model_versions(f"name='{model_name}' and run_id='{run_id}'")
        if existing:
            version = str(existing[0].version)
        else:
            version = log_model(forecaster, history_example(prepared, forecaster), model_name)
    for key, value in job.to_tags().items():
        client.set_model_version_tag(model_name, version, key, value)
    client.set_registered_model_alias(model_name, CHALLENGER, version)
    mlflow.set_tag("model_version", version)
    return version


def _decide(
    client: MlflowClient,
    model_name: str,
    current: str | None,
    version: str,
    evidence: GateEvidence,
    job: Job,
) -> tuple[bool, str, float | None]:
    """(promote?, why, the champion's score on our windows if it was scored); `current` is the champion."""
    champion_score = None
    if current not in (None, version):
        differences = job.differences(champion_job(client, model_name, current))
        if differences:
            return False, _other_job_note(current, differences), None
        try:
            champion_score = evidence.score(registered_forecaster(f"models:/{model_name}@{CHAMPION}"))
        except IncomparableModelError as error:
            # the same job, but e.g. a lookback longer than this data leaves before its test split
            return False, f"champion v{current} cannot be scored on this run's test windows ({error})", None
    promoted, reason = promotion_decision(
        evidence.challenger,
        evidence.naive,
        evidence.seasonal_naive,
        champion_score,
        evidence.measure,
        evidence.coverage_miss,
    )
    return promoted, reason, champion_score


def _smoke_test(model_name: str, version: str, forecaster: Forecaster, example: pd.DataFrame) -> None:
    """Load the registered pyfunc and check it forecasts what the in-memory model does."""
    served = mlflow.pyfunc.load_model(f"models:/{model_name}/{version}").predict(example)
    expected = forecaster.predict_table(example)
    targets = forecaster.spec.target_columns
    if not np.allclose(served[targets].to_numpy(), expected[targets].to_numpy(), rtol=1e-5, atol=1e-6):
        raise RuntimeError(f"registered version {version} forecasts differently from the trained model")


def judge(model_name: str, version: str, *, job: Job, evidence: GateEvidence) -> Verdict:
    """The gate's decision on `version`, moving nothing (so without the promotion lock, which must not be
    held while a person decides); `promote_if_better` decides again under the lock."""
    current = champion_version(model_name)
    promote, reason, champion_score = _decide(MlflowClient(), model_name, current, version, evidence, job)
    if champion_score is not None:
        mlflow.log_metric(f"champion_{evidence.metric}", champion_score)
    return Verdict(promote, reason, current, champion_score)


def promote_if_better(
    model_name: str,
    version: str,
    *,
    job: Job,
    evidence: GateEvidence,
    prepared: pipeline.ScaledSplit,
    forecaster: Forecaster,
    approval: Decision | None = None,
    judged: Verdict | None = None,
) -> Promotion:
    """Move `champion` to `version` only if the champion forecasts the same job and `version` beats it and
    both naive baselines on the same windows (those of `evidence`: the test split, or backtest folds); a
    champion of another job is never replaced. Under manual approval, `approval` is the person's yes and
    `judged` the verdict they saw: it stands if the champion is still the one judged against, and the
    gate decides again against a champion that changed while they decided. The decision is tagged on the
    version and the active run; a move of the alias is appended to the champion's history."""
    client = MlflowClient()
    # read-compare-move as one step: a concurrent retrain waits, then compares against our result
    with promotion_lock(client, model_name, mlflow.active_run().info.run_id):
        current = champion_version(model_name)
        if judged is not None and judged.champion_version == current:  # the same models: the same scores
            promoted, reason, champion_score = judged.promote, judged.reason, judged.champion_score
        else:
            promoted, reason, champion_score = _decide(client, model_name, current, version, evidence, job)
        if promoted:
            _smoke_test(model_name, version, forecaster, history_example(prepared, forecaster))
            if current is not None and current != version:
                client.set_registered_model_alias(model_name, PREVIOUS, current)
            client.set_registered_model_alias(model_name, CHAMPION, version)
            if current != version:  # not when a retried task finds its own promotion done
                by, action = (approval.by, "approval") if approval else ("gate", "gate")
                record_move(client, model_name, action, version, current, by)
    if champion_score is not None:  # on the gate's windows: the test split's, or the mean over the folds
        mlflow.log_metric(f"champion_{evidence.metric}", champion_score)
    if approval is not None and promoted:
        reason = f"{approval.said()}; {reason}"
    elif approval is not None:  # judged a win, so the champion is another one now
        reason = f"{approval.said()}, but the champion changed while waiting (now v{current}): {reason}"
    record_outcome(model_name, version, promoted, reason)
    return Promotion(promoted, reason, version if promoted else current, approval)


def record_outcome(model_name: str, version: str, promoted: bool, reason: str) -> None:
    """Tag the gate's outcome on the version (`PROMOTION_TAG`) and on the active run."""
    MlflowClient().set_model_version_tag(model_name, version, PROMOTION_TAG, reason)
    mlflow.set_tags({"promoted": str(promoted).lower(), "promotion_reason": reason})
