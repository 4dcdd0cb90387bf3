"""The monitor in MLflow: the promise a training run records beside its model (`monitoring/test_windows.csv`,
`monitoring/drift_reference.json`), read back for a registered version; and the monitoring run of the
experiment `bilstm-monitoring`: realised against promised, drift per input column, the windows scored and
a plot of their error over time with the band."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow import MlflowClient

from bilstm.drift import DriftReference
from bilstm.errors import MonitorInputError
from bilstm.promise import Promise

MONITOR_EXPERIMENT = "bilstm-monitoring"
WINDOWS_PATH, DRIFT_PATH = "monitoring/test_windows.csv", "monitoring/drift_reference.json"


def log_promise(promise: Promise) -> None:
    """On the active (training) run: the per-window test errors and the drift reference."""
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / Path(WINDOWS_PATH).name
        promise.to_frame().to_csv(table, index=False)
        mlflow.log_artifact(str(table), "monitoring")
    mlflow.log_dict(promise.drift.to_json(), DRIFT_PATH)


def load_promise(run_id: str, model_uri: str) -> tuple[Promise | None, float]:
    """The promise recorded by the training run `run_id`, or None for a model registered before promises
    were (its band then falls back on the test MSE); and the run's test MSE (scaled)."""
    run = MlflowClient().get_run(run_id)
    test_mse = run.data.metrics.get("test_mse_scaled")
    if test_mse is None:
        raise MonitorInputError(
            f"{model_uri}: its training run {run_id} has no test_mse_scaled metric, so there is nothing to"
            " hold its realised error to; monitor a model registered by `bilstm train`"
        )
    recorded = {artifact.path for artifact in MlflowClient().list_artifacts(run_id, "monitoring")}
    if WINDOWS_PATH not in recorded:  # registered before promises were recorded
        return None, test_mse
    with tempfile.TemporaryDirectory() as tmp:
        windows = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=WINDOWS_PATH, dst_path=tmp)
        drift = mlflow.artifacts.load_dict(f"runs:/{run_id}/{DRIFT_PATH}")
        return Promise.from_frame(pd.read_csv(windows), DriftReference.from_json(drift)), test_mse


def _metric_name(name: str) -> str:
    """A column name as MLflow takes it in a metric key (letters, digits, _ - . space /)."""
    return re.sub(r"[^\w\-. /]", "_", name)


def log_monitoring(
    summary: dict,
    windows: pd.DataFrame,
    drift: pd.DataFrame,
    figure: Figure,
    by_series: pd.DataFrame | None = None,
) -> None:
    """On the active (monitoring) run: the figures as metrics, the verdict as tags, the windows scored,
    the drift table, the plot and, for many series, each series against its band
    (`monitoring/series.json`, an MLflow table)."""
    names = ("realised_mse_scaled", "expected_mse_scaled", "threshold_mse_scaled", "band_low_mse_scaled")
    names += ("band_high_mse_scaled", "persistence_mse_scaled", "coverage_95", "expected_coverage_95")
    names += ("test_false_alarm_rate", "windows", "degraded_series_count")
    metrics = {name: summary[name] for name in names if summary.get(name) is not None}
    for row in drift.itertuples():
        metrics[f"drift_psi.{_metric_name(row.column)}"] = row.psi
    mlflow.log_metrics(metrics)
    mlflow.set_tags(
        {
            "bilstm.kind": "monitor",
            "bilstm.model.name": summary["model_name"],
            "bilstm.model.version": summary["model_version"],
            "bilstm.monitor.degraded": str(summary["degraded"]).lower(),
            "bilstm.monitor.event": summary["event"] or "",
            "bilstm.monitor.source": summary["source"],
            "bilstm.monitor.reasons": "; ".join(summary["reasons"])[:5000],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        for frame, name in ((windows, "windows.csv"), (drift, "drift.csv")):
            frame.to_csv(Path(tmp) / name, index=False)
            mlflow.log_artifact(str(Path(tmp) / name), "monitoring")
    mlflow.log_dict(summary, "monitoring/summary.json")
    mlflow.log_figure(figure, "plots/realised_error.png")
    if by_series is not None:
        mlflow.log_table(by_series, "monitoring/series.json")
        mlflow.set_tag("bilstm.monitor.worst_series", summary["worst_series"])
