"""The training flow: ingest -> settings left to the data -> the champion's job checked -> split and scale ->
window -> train -> evaluate -> (the backtest gate's folds, with `registry.gate: backtest`) -> register ->
promote (with `registry.approval: manual`, a version that wins the gate waits for a person's approval first).
One recipe for one series and for the many of a long table (`data.series_column`): one global network, the
gate on the means over series (or OWA), `metrics_by_series.csv`; the summary counts the series.

One MLflow run per flow run, named after it. The config is a typed pydantic model, so the Prefect UI shows a
form with every field and its default.
"""

from __future__ import annotations

from dataclasses import asdict

import mlflow
from prefect import flow
from prefect.runtime import flow_run

from bilstm import gate
from bilstm.config import PipelineConfig, RegistryConfig
from bilstm.data import SeriesTable
from bilstm.defaults import Resolved
from bilstm.evaluation import Evaluation, baseline_shortfalls
from bilstm.folds import BacktestOptions
from bilstm.forecaster import Forecaster
from bilstm.intervals import shortfall_warnings
from bilstm.job import Job
from bilstm.pipeline import ScaledSplit, kept_start_note
from bilstm.training import TrainingLog
from flows.approval import ask_for_approval
from flows.backtest import run_folds
from flows.fold_workers import FoldWorkers
from tasks.backtest import plan_backtest, record_folds
from tasks.data import fit_settings_to_data, ingest, make_windows, split_and_scale
from tasks.evaluation import evaluate, explain_inputs, record_promise
from tasks.registry import (
    check_champion,
    judge_challenger,
    keep_champion,
    promote,
    record_decision,
    register_model,
)
from tasks.report import publish_report
from tasks.tracking import start_tracking
from tasks.training import claim_checkpoint, clear_checkpoint, train
from tracking.registry import Promotion
from tracking.runs import run_url, tracked_run
from tracking.store import use_tracking

# imported lazily by the tasks below, and imported while Prefect's temporary server starts, if it is slower
PRELOAD = ("torch._dynamo", "mlflow.store.tracking.sqlalchemy_store")


@flow(name="train", log_prints=True)
def train_flow(config: PipelineConfig = PipelineConfig()) -> dict:  # noqa: B008 - pydantic default
    """Train a Bi-LSTM forecaster, track it in MLflow and register it; the champion moves only if it wins."""
    use_tracking(config.registry.experiment)
    with tracked_run(flow_run.name) as run:
        start_tracking(config)
        series = ingest(config.data)
        settings = fit_settings_to_data(config, series)
        config, job = settings.config, Job.for_run(series, settings.config)
        champion_warning = check_champion(job, config.registry.model_name)
        prepared = split_and_scale(series, config)
        windows = make_windows(prepared, config)
        checkpoint = claim_checkpoint(config, series.digest())
        forecaster, training_log = train(prepared, windows, config, checkpoint)
        evaluation = evaluate(forecaster, prepared, training_log)
        record_promise(evaluation, prepared)
        explain_inputs(forecaster, windows[1])
        evidence, gate_notes = gate.single_split(evaluation, prepared, config.registry.gate_metric), []
        if config.registry.gate == "backtest":
            evidence, gate_notes = _backtest_evidence(run, series, config)
        version = register_model(forecaster, prepared, job, config.registry.model_name)
        registry = config.registry
        if registry.approval == "manual":
            promotion = _promote_once_approved(run, version, forecaster, evidence, prepared, job, registry)
        else:
            promotion = promote(version, forecaster, evidence, prepared, job, registry.model_name)
        warnings = [
            *series.notes,
            *settings.warnings,
            *([champion_warning] if champion_warning else []),
            *gate_notes,
            *shortfall_warnings(forecaster.intervals),
        ]
        summary = _summary(run, config, settings, warnings, training_log, evaluation, version, promotion)
        if series.series_column is not None:
            kept = len(prepared.series.ids)
            summary |= {"series": kept, "series_left_out": len(series.ids) - kept}
            summary["intervals_calibration"] = forecaster.intervals.choice if forecaster.intervals else None
        publish_report(summary, promotion)
        clear_checkpoint(checkpoint)
    return summary


def _backtest_evidence(
    run: mlflow.ActiveRun, series: SeriesTable, config: PipelineConfig
) -> tuple[gate.GateEvidence, list[str]]:
    """The backtest gate's evidence: the config trained anew on `registry.gate_folds` rolling folds (of every
    series), here one after another, each fold's run nested under this one (as `bilstm backtest` does), and
    the means; and the warnings of the folds' planning (series left out)."""
    options = BacktestOptions(folds=config.registry.gate_folds)
    series, folds, notes = plan_backtest(series, config, options, "registry.gate_folds")
    with FoldWorkers(options) as workers:
        outcomes = run_folds(run, series, config, folds, workers)
    _, means = record_folds(series, outcomes, folds)
    return gate.over_folds(means, folds, series, config), notes


def _promote_once_approved(
    run: mlflow.ActiveRun,
    version: str,
    forecaster: Forecaster,
    evidence: gate.GateEvidence,
    prepared: ScaledSplit,
    job: Job,
    registry: RegistryConfig,
) -> Promotion:
    """Manual approval: a version that wins the gate waits for a person's decision, with no lock held; once
    approved, it is promoted if it still wins, against the champion of that moment, under the lock."""
    model_name = registry.model_name
    verdict = judge_challenger(version, evidence, job, model_name)
    if not verdict.promote:
        return keep_champion(model_name, version, verdict.reason)
    timeout_s = registry.approval_timeout
    decision = ask_for_approval(model_name, version, verdict, evidence, run_url(run), timeout_s)
    record_decision(model_name, version, decision)
    if decision.decision == "timed-out":
        advice = f"promote it later with `bilstm promote --model {model_name} --version {version}`"
        waited = f"{timeout_s} s (registry.approval_timeout)"
        return keep_champion(model_name, version, f"no decision within {waited}; {advice}", decision)
    if not decision.approved:
        return keep_champion(model_name, version, decision.said(), decision)
    return promote(
        version, forecaster, evidence, prepared, job, model_name, approval=decision, judged=verdict
    )


def _summary(
    run: mlflow.ActiveRun,
    config: PipelineConfig,
    settings: Resolved,
    warnings: list[str],
    training_log: TrainingLog,
    evaluation: Evaluation,
    version: str,
    promotion: Promotion,
) -> dict:
    """What `bilstm train` prints (and `--json` returns) of the run; `warnings` come before the baselines'
    shortfalls."""
    metrics = evaluation.metrics
    return {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "run_url": run_url(run),
        "flow_run_id": str(flow_run.id),
        "model_name": config.registry.model_name,
        "model_version": version,
        "promoted": promotion.promoted,
        "promotion_reason": promotion.reason,
        "champion_version": promotion.champion_version,
        "approval": None if promotion.approval is None else asdict(promotion.approval),
        "seasonal_period": settings.period,
        "lookback": config.window.lookback,
        "patch_len": config.model.patch_len,
        "derived_settings": settings.derived,
        "epochs_run": training_log.epochs_run,
        "best_epoch": training_log.best_epoch,
        "training_note": kept_start_note(config) if training_log.best_epoch == 0 else None,
        "train_seconds": round(training_log.train_seconds, 3),
        "train_samples_per_s": round(training_log.samples_per_s, 1),
        "warnings": [*warnings, *baseline_shortfalls(metrics)],
        "metrics": metrics,
    }
