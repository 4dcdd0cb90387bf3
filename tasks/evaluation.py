"""The evaluation tasks: test metrics beside the baselines, per-horizon table and plots, logged to MLflow;
and what the model promises the monitor, from the same test windows."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
from prefect import task
from prefect.cache_policies import NO_CACHE

from bilstm import pipeline, plots
from bilstm.evaluation import Evaluation
from bilstm.forecaster import Forecaster
from bilstm.promise import promise_of
from bilstm.training import TrainingLog
from tracking.monitoring import log_promise


@task(cache_policy=NO_CACHE)
def evaluate(forecaster: Forecaster, prepared: pipeline.ScaledSplit, training_log: TrainingLog) -> Evaluation:
    """Score every test window; log metrics, `metrics_by_horizon.csv` and the two plots."""
    evaluation = pipeline.evaluate_forecaster(forecaster, prepared)
    mlflow.log_metrics(evaluation.metrics)
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "metrics_by_horizon.csv"
        evaluation.by_horizon.to_csv(table, index=False)
        mlflow.log_artifact(str(table))
    mlflow.log_figure(plots.loss_curve(training_log), "plots/loss_curve.png")
    spec = forecaster.spec
    figure = plots.forecast_plot(evaluation, spec.target_columns, timezone=spec.timezone)
    mlflow.log_figure(figure, "plots/forecast.png")
    return evaluation


@task(cache_policy=NO_CACHE)
def record_promise(evaluation: Evaluation, prepared: pipeline.ScaledSplit) -> None:
    """Log what the monitor holds the model to: each test window's scaled MSE and 95 % interval misses
    (`monitoring/test_windows.csv`), and its train and held-out rows' bins for drift
    (`monitoring/drift_reference.json`)."""
    log_promise(promise_of(evaluation, prepared))
