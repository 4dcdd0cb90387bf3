"""The evaluation tasks: test metrics beside the baselines, per-horizon table and plots, logged to MLflow;
what the model promises the monitor, from the same test windows; and, with covariates known in advance,
which inputs it leans on."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
from prefect import task
from prefect.cache_policies import NO_CACHE

from bilstm import pipeline, plots
from bilstm.evaluation import Evaluation
from bilstm.forecaster import Forecaster
from bilstm.importance import importance_plot, permutation_importance
from bilstm.promise import promise_of
from bilstm.training import TrainingLog
from bilstm.windows import Windows
from tracking.monitoring import log_promise


@task(cache_policy=NO_CACHE)
def evaluate(forecaster: Forecaster, prepared: pipeline.ScaledSplit, training_log: TrainingLog) -> Evaluation:
    """Score every test window of every series; log the metrics (the means over series),
    `metrics_by_horizon.csv`, `metrics_by_series.csv` (many series), the loss curve and the test forecasts
    (of the best, median and worst series, for many)."""
    evaluation = pipeline.evaluate_forecaster(forecaster, prepared)
    mlflow.log_metrics(evaluation.metrics)
    many = prepared.series.series_column is not None
    tables = {"metrics_by_horizon.csv": evaluation.by_horizon}
    if many:
        tables["metrics_by_series.csv"] = evaluation.by_series
    with tempfile.TemporaryDirectory() as tmp:
        for name, table in tables.items():
            table.to_csv(Path(tmp) / name, index=False)
            mlflow.log_artifact(str(Path(tmp) / name))
    mlflow.log_figure(plots.loss_curve(training_log), "plots/loss_curve.png")
    spec = forecaster.spec
    if many:
        figure = plots.series_forecast_plot(evaluation, prepared.series)
    else:
        figure = plots.forecast_plot(evaluation, spec.target_columns, timezone=spec.timezone)
    mlflow.log_figure(figure, "plots/forecast.png")
    return evaluation


@task(cache_policy=NO_CACHE)
def record_promise(evaluation: Evaluation, prepared: pipeline.ScaledSplit) -> None:
    """Log what the monitor holds the model to: each test window's scaled MSE and 95 % interval misses
    (`monitoring/test_windows.csv`), and its train and held-out rows' bins for drift
    (`monitoring/drift_reference.json`)."""
    log_promise(promise_of(evaluation, prepared))


@task(cache_policy=NO_CACHE)
def explain_inputs(forecaster: Forecaster, validation: Windows) -> None:
    """For a model with covariates (known in advance, or static): the permutation importance of every input
    on the validation windows, logged as `importance/permutation.csv` and `plots/importance.png`."""
    if not forecaster.spec.known_columns and not forecaster.spec.static_columns:
        return
    table = permutation_importance(forecaster, validation)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "permutation.csv"
        table.to_csv(path, index=False)
        mlflow.log_artifact(str(path), "importance")
    mlflow.log_figure(importance_plot(table), "plots/importance.png")
