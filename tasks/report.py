"""Prefect artifacts that summarise a training run: metrics beside the baselines, the prediction intervals'
test coverage and width where the forecaster has them, promotion, MLflow link."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tracking.registry import Promotion

_ROWS = (
    ("model", ""),
    ("naive (persistence)", "naive_"),
    ("seasonal naive", "seasonal_naive_"),
    ("Naive2 (M4)", "naive2_"),
)
_COLUMNS = {
    "mse_scaled": "test MSE (scaled)",
    "mae_scaled": "test MAE (scaled)",
    "mse": "test MSE",
    "mae": "test MAE",
    "smape": "sMAPE",
    "mase": "MASE",
    "owa": "OWA",
}


def summary_markdown(summary: dict, promotion: Promotion) -> str:
    metrics = summary["metrics"]
    lines = [
        f"# Training run `{summary['run_name']}`",
        "",
        f"Model **{summary['model_name']}** version **{summary['model_version']}**: "
        + ("**promoted to champion**" if promotion.promoted else "not promoted")
        + f" — {promotion.reason}.",
        "",
        *[f"> **Warning:** {warning}.\n" for warning in summary["warnings"]],
        f"Lookback {summary['lookback']} rows in segments of {summary['patch_len']} (seasonal period"
        f" {summary['seasonal_period']} steps); best epoch {summary['best_epoch']}"
        f" of {summary['epochs_run']}"
        + (f": {summary['training_note']}." if summary["training_note"] else "."),
        "",
    ]
    # one series: errors in original units; many: the means over series, sMAPE, MASE and OWA (M4's)
    columns = [name for name in _COLUMNS if f"test_{name}" in metrics]
    if "series" in summary:
        lines += [f"Means over {summary['series']} series.", ""]
    lines += [
        "| forecaster | " + " | ".join(_COLUMNS[name] for name in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for label, prefix in _ROWS:
        if f"{prefix}test_mse_scaled" in metrics:
            values = [metrics.get(f"{prefix}test_{name}", float("nan")) for name in columns]
            lines.append(f"| {label} | " + " | ".join(f"{v:.4f}" for v in values) + " |")
    lines += _interval_lines(metrics)
    if summary.get("intervals_calibration"):  # many series: the bands pooled or per series, and why
        lines += ["", f"{summary['intervals_calibration']}."]
    lines += [
        "",
        f"{summary['epochs_run']} epochs in {summary['train_seconds']:.1f} s "
        f"({summary['train_samples_per_s']:.0f} samples/s). [MLflow run]({summary['run_url']})",
    ]
    return "\n".join(lines)


def _interval_lines(metrics: dict) -> list[str]:
    """Test coverage and mean width per interval level; nothing for a forecaster without intervals."""
    # the levels are read from the metrics, where evaluation names them (`test_coverage_80`, ...)
    keys = [key for key in metrics if key.startswith("test_coverage_")]
    if not keys:
        return []
    lines = ["", "| interval | test coverage | mean width | mean width (scaled) |", "|---|---|---|---|"]
    for level in sorted((key.removeprefix("test_coverage_") for key in keys), key=float):
        coverage = metrics[f"test_coverage_{level}"]
        widths = metrics[f"test_width_{level}"], metrics[f"test_width_{level}_scaled"]
        lines.append(f"| {level} % | {coverage:.3f} | {widths[0]:.4f} | {widths[1]:.4f} |")
    return lines


@task(cache_policy=NO_CACHE)
def publish_report(summary: dict, promotion: Promotion) -> None:
    """A markdown artifact with the metrics table and a link artifact to the MLflow run."""
    create_markdown_artifact(key="train-report", markdown=summary_markdown(summary, promotion))
    create_link_artifact(key="mlflow-run", link=summary["run_url"], link_text="MLflow run")
