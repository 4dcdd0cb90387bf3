"""The monitor's summary: what `bilstm monitor` prints and `--json` returns, the verdict event's payload, and
the markdown report the monitor flow publishes in Prefect."""

from __future__ import annotations

import math

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from bilstm import monitor, monitored_series
from bilstm.data import SeriesTable
from bilstm.messages import names


def finite(value: float | None) -> float | None:
    """JSON has no NaN: a figure that does not exist (a fallback band's percentiles) is null."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def series_line(summary: dict) -> str:
    """'worst series c: MSE 0.49 (threshold 0.03); 1 of 4 series above their own band: c', of a model of
    many series."""
    above = summary["degraded_series"]
    return (
        f"worst series {summary['worst_series']}: MSE {summary['worst_series_mse_scaled']:.4f} (threshold"
        f" {summary['worst_series_threshold_mse_scaled']:.4f}); {len(above)} of {summary['series']} series"
        f" above their own band" + (f": {names(above)}" if above else "")
    )


@task(cache_policy=NO_CACHE)
def publish_monitor_report(summary: dict) -> None:
    """A markdown artifact: the verdict, realised against promised, coverage and drift, the MLflow link."""
    verdict = "**degraded**" if summary["degraded"] else "healthy"
    lines = [
        f"# Monitor: {summary['model_name']} v{summary['model_version']} is {verdict}",
        "",
        *[f"- {reason}" for reason in summary["reasons"]],
        "",
        f"{summary['windows']} windows ({summary['source']}), targets {summary['first_target']}"
        f" .. {summary['last_target']}.",
        "",
        "| | MSE (scaled) |",
        "|---|---|",
        f"| realised | {summary['realised_mse_scaled']:.4f} |",
        f"| promised (test windows) | {summary['expected_mse_scaled']:.4f} |",
        f"| threshold | {summary['threshold_mse_scaled']:.4f} |",
        f"| persistence, same windows | {summary['persistence_mse_scaled']:.4f} |",
        "",
    ]
    if "degraded_series" in summary:
        lines += [series_line(summary), ""]
    if summary["coverage_95"] is not None:
        promised = summary["expected_coverage_95"]
        shown = "" if promised is None else f" (promised {promised:.3f})"
        lines += [f"95 % interval coverage {summary['coverage_95']:.3f}{shown}.", ""]
    if summary["drift"]:
        lines += ["| input | PSI | threshold |", "|---|---|---|"]
        lines += [
            f"| {column} | {value:.2f} | {summary['drift_thresholds'][column]:.2f} |"
            for column, value in summary["drift"].items()
        ]
        lines.append("")
    lines.append(f"[MLflow run]({summary['run_url']})")
    create_markdown_artifact(key="monitor-report", markdown="\n".join(lines))


def summary_of(
    run: tuple[str, str],
    version: tuple[str, str, str],
    scored: list[monitor.Scores],
    verdict: monitor.Verdict,
    by_series: pd.DataFrame,
    series: SeriesTable,
    horizon: int,
) -> dict:
    """What `bilstm monitor` prints (and `--json` returns), the event's payload: `run` is the monitoring
    run's (id, link); `event` is filled in once emitted. For many series also the worst series (realised
    over its threshold) and those above their own band (`degraded_series`, and their count)."""
    band, miss_band = verdict.error_band, verdict.coverage_band
    scores = monitored_series.pooled(scored)
    times = series.shown_times.astype(str)
    summary = {
        "model_name": version[0],
        "model_version": version[1],
        "realised_mse_scaled": verdict.realised_mse,
        "expected_mse_scaled": band.expected,
        "threshold_mse_scaled": band.threshold,
        "persistence_mse_scaled": verdict.persistence_mse,
        "coverage_95": verdict.coverage_95,
        "drift": verdict.drift,
        "degraded": verdict.degraded,
        "event": None,
        "run_id": run[0],
        "run_url": run[1],
        "reasons": verdict.reasons,
        "warnings": series.notes,  # what reading the actuals noticed (gaps, mixed UTC offsets)
        "source": scores.source,
        "windows": len(scores.mse),
        "first_target": times[scores.rows[0]],
        "last_target": times[scores.rows[-1] + horizon - 1],
        "band_low_mse_scaled": finite(band.low),
        "band_high_mse_scaled": finite(band.high),
        "test_false_alarm_rate": finite(band.test_false_alarm_rate),
        "expected_coverage_95": None if miss_band is None else 1 - miss_band.expected,
        "drift_thresholds": verdict.drift_thresholds,
    }
    if series.series_column is None:
        return summary
    worst = by_series.iloc[0]
    degraded_series = by_series.loc[by_series["degraded"], "series"].tolist()
    return summary | {
        "series": len(by_series),
        "worst_series": worst["series"],
        "worst_series_mse_scaled": float(worst["realised_mse_scaled"]),
        "worst_series_threshold_mse_scaled": float(worst["threshold_mse_scaled"]),
        "degraded_series": degraded_series,
        "degraded_series_count": len(degraded_series),
    }
