"""Tasks of the training flow for many series in one long table: read it, fill in the settings left to the
data, split and scale per series, cut windows, and evaluate per series (logged to MLflow)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from bilstm import panel_pipeline, plots
from bilstm.config import DataConfig, PipelineConfig
from bilstm.defaults import season
from bilstm.evaluation import Evaluation, evaluate_panel
from bilstm.panel import Panel, load_panel
from bilstm.panel_forecaster import PanelForecaster
from bilstm.panel_settings import resolve_panel
from bilstm.stamps import as_text
from bilstm.training import TrainingLog
from bilstm.windows import Windows
from tasks.data import loaded_with_notes
from tasks.retries import IO_RETRIES


@task(**IO_RETRIES)
def ingest_panel(config: DataConfig) -> Panel:
    """Read and validate the long table; log it to MLflow as the run's training input."""
    panel = loaded_with_notes(load_panel, config)
    frame = panel.frame.assign(
        **{panel.series_column: np.repeat(panel.ids, panel.lengths), config.time_column: panel.times}
    )
    frame, digest, targets = as_text(frame, panel.timezone), panel.digest(), panel.target_columns
    dataset = mlflow.data.from_pandas(
        frame,
        source=panel.source,
        name=panel.name,
        targets=targets[0] if len(targets) == 1 else None,
        digest=digest,
    )
    mlflow.log_input(dataset, context="training")
    mlflow.set_tags(
        {
            "data.digest": digest,
            "data.freq": panel.freq,
            "data.rows": len(frame),
            "data.series": len(panel.ids),
            "data.series_column": panel.series_column,
            "data.targets": ",".join(targets),
        }
    )
    return panel


@task(cache_policy=NO_CACHE)
def fit_panel_settings(config: PipelineConfig, panel: Panel) -> PipelineConfig:
    """Fill in the settings left to the data from the shortest series; log them and the seasonal period."""
    resolved = resolve_panel(config, panel)
    period = season(config.data, panel.freq)
    mlflow.log_params(
        {
            "window.lookback": resolved.window.lookback,
            "model.patch_len": resolved.model.patch_len,
            "data.seasonal_period": period,
        }
    )
    get_run_logger().info(
        "%d series of %s data (seasonal period %d steps), %d to %d rows each; lookback %d",
        len(panel.ids),
        panel.freq,
        period,
        panel.lengths.min(),
        panel.lengths.max(),
        resolved.window.lookback,
    )
    return resolved


@task(cache_policy=NO_CACHE)
def split_and_scale_panel(panel: Panel, config: PipelineConfig) -> panel_pipeline.ScaledPanel:
    """Split every series by time and fit its scaler on its own train rows."""
    prepared = panel_pipeline.split_and_scale_panel(panel, config)
    mlflow.log_params({"split.series": len(prepared.panel.ids), "split.kind": config.data.split})
    return prepared


@task(cache_policy=NO_CACHE)
def make_panel_windows(
    prepared: panel_pipeline.ScaledPanel, config: PipelineConfig
) -> tuple[Windows, Windows]:
    """Train and validation windows of every series (start rows into one array: nothing is copied)."""
    train, val = panel_pipeline.make_panel_windows(prepared, config)
    mlflow.log_params({"windows.train": len(train), "windows.val": len(val)})
    return train, val


@task(cache_policy=NO_CACHE)
def evaluate_many(
    forecaster: PanelForecaster, prepared: panel_pipeline.ScaledPanel, training_log: TrainingLog
) -> Evaluation:
    """Score every test window of every series; log the means over series as metrics,
    `metrics_by_series.csv`, `metrics_by_horizon.csv`, the loss curve and the best/median/worst series."""
    evaluation = evaluate_panel(forecaster, prepared)
    mlflow.log_metrics(evaluation.metrics)
    with tempfile.TemporaryDirectory() as tmp:
        for name, table in (
            ("metrics_by_series.csv", evaluation.by_series),
            ("metrics_by_horizon.csv", evaluation.by_horizon),
        ):
            table.to_csv(Path(tmp) / name, index=False)
            mlflow.log_artifact(str(Path(tmp) / name))
    mlflow.log_figure(plots.loss_curve(training_log), "plots/loss_curve.png")
    mlflow.log_figure(plots.series_forecast_plot(evaluation, prepared.panel), "plots/forecast.png")
    return evaluation
