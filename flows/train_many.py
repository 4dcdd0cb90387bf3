"""The training flow's recipe for many series in one long table (`data.series_column`): ingest -> settings
from the shortest series -> split and scale per series -> windows across all series -> train one global
network -> evaluate per series -> register -> promote (the same gate as one series: the mean over series of
the test MSE or MASE, or OWA, against persistence, seasonal naive and the champion scored on the same
windows).

`flows.train.train_flow` runs it inside its MLflow run; the summary has the keys of one series' summary,
with the series counted."""

from __future__ import annotations

from collections.abc import Callable

import mlflow
from prefect.runtime import flow_run

from bilstm import gate
from bilstm.config import PipelineConfig
from bilstm.evaluation import baseline_shortfalls
from bilstm.intervals import shortfall_warnings
from bilstm.job import Job
from bilstm.pipeline import kept_start_note
from tasks.panel import (
    evaluate_many,
    fit_panel_settings,
    ingest_panel,
    make_panel_windows,
    split_and_scale_panel,
)
from tasks.registry import check_champion, promote, register_model
from tasks.report import publish_report
from tasks.training import claim_checkpoint, clear_checkpoint, train
from tracking.registry import Promotion
from tracking.runs import run_url


def train_many_series(
    run: mlflow.ActiveRun, config: PipelineConfig, approve: Callable[..., Promotion]
) -> dict:
    """Train one forecaster across every series of the long table; `approve` is the flow's manual-approval
    step (used with `registry.approval: manual`)."""
    panel = ingest_panel(config.data)
    config = fit_panel_settings(config, panel)
    job = Job.for_run(panel, config)
    champion_warning = check_champion(job, config.registry.model_name)
    prepared = split_and_scale_panel(panel, config)
    windows = make_panel_windows(prepared, config)
    checkpoint = claim_checkpoint(config, panel.digest())
    forecaster, training_log = train(prepared, windows, config, checkpoint)
    evaluation = evaluate_many(forecaster, prepared, training_log)
    evidence = gate.panel_split(evaluation, prepared, config.registry.gate_metric)
    registry = config.registry
    version = register_model(forecaster, prepared, job, registry.model_name)
    if registry.approval == "manual":
        promotion = approve(run, version, forecaster, evidence, prepared, job, registry)
    else:
        promotion = promote(version, forecaster, evidence, prepared, job, registry.model_name)
    metrics = evaluation.metrics
    summary = {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "run_url": run_url(run),
        "flow_run_id": str(flow_run.id),
        "model_name": registry.model_name,
        "model_version": version,
        "promoted": promotion.promoted,
        "promotion_reason": promotion.reason,
        "champion_version": promotion.champion_version,
        "approval": None if promotion.approval is None else promotion.approval.__dict__,
        "series": len(prepared.panel.ids),
        "series_left_out": len(panel.ids) - len(prepared.panel.ids),
        "seasonal_period": forecaster.spec.period,
        "lookback": config.window.lookback,
        "patch_len": config.model.patch_len,
        "epochs_run": training_log.epochs_run,
        "best_epoch": training_log.best_epoch,
        "training_note": kept_start_note(config) if training_log.best_epoch == 0 else None,
        "train_seconds": round(training_log.train_seconds, 3),
        "train_samples_per_s": round(training_log.samples_per_s, 1),
        "warnings": [
            *panel.notes,
            *([champion_warning] if champion_warning else []),
            *shortfall_warnings(forecaster.intervals),
            *baseline_shortfalls(metrics),
        ],
        "metrics": metrics,
    }
    publish_report(summary, promotion)
    clear_checkpoint(checkpoint)
    return summary
