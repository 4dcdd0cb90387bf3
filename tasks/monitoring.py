"""The monitor's tasks: find the registered version and its promise, read the actuals, find the recorded
forecasts whose targets arrived, score and judge (`bilstm.monitor`; every series of a model of many,
`bilstm.monitored_series`), record the monitoring run, publish a report and emit the verdict as a Prefect
event."""

from __future__ import annotations

import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from bilstm import monitor, monitored_series, plots
from bilstm.config import CsvConfig
from bilstm.data import SeriesTable
from bilstm.errors import MonitorInputError
from bilstm.forecaster import Forecaster
from bilstm.messages import names
from bilstm.promise import FALLBACK_FACTOR, Promise
from bilstm.recorded import stamps
from tasks.data import read_as_model_reads
from tasks.retries import IO_RETRIES
from tracking import forecasts, monitoring, versions

DEGRADED, HEALTHY = "bilstm.model.degraded", "bilstm.model.healthy"


@task(**IO_RETRIES)
def find_version(model_uri: str) -> tuple[str, str, str]:
    """(name, version, training run id) of a registered model URI; other URIs are refused."""
    found = versions.registered_version(model_uri)
    if found is None:
        raise MonitorInputError(
            f"--model {model_uri}: not a registered model; pass models:/NAME@ALIAS or models:/NAME/VERSION"
        )
    return found


@task(**IO_RETRIES)
def load_promise(run_id: str, model_uri: str) -> tuple[Promise | None, float]:
    """What the version's training run promised, and its test MSE; a version registered before promises
    were recorded gets a fallback band (logged as a warning)."""
    promise, test_mse = monitoring.load_promise(run_id, model_uri)
    if promise is None:
        get_run_logger().warning(
            "%s was registered before per-window test errors were recorded: its threshold is %s x its test"
            " MSE, and neither coverage nor drift is checked; retrain it for the full check",
            model_uri,
            FALLBACK_FACTOR,
        )
    return promise, test_mse


@task(cache_policy=NO_CACHE)
def read_actuals(forecaster: Forecaster, data: str | None, csv: CsvConfig | None = None) -> SeriesTable:
    """The newest actuals, validated, with the columns the model reads, at its frequency; series the model
    was not trained on noted (they are forecast from their own history)."""
    series = read_as_model_reads(forecaster, data, csv, "data")
    unknown = series.ids[forecaster.scaler.numbers(series.ids) < 0]
    if series.series_column is not None and len(unknown):
        series.notes.append(
            f"{series.source}: {len(unknown)} series the model was not trained on ({names(unknown)}):"
            " forecast from their own history, scored in the error over all series, without a band of"
            " their own"
        )
    return series


@task(cache_policy=NO_CACHE)
def plan_stretch(
    series: SeriesTable, forecaster: Forecaster, promise: Promise | None, window: int | None
) -> np.ndarray:
    """The first row of each series' monitored stretch (within that series): its last `window` rows
    (checked), or the default window, cut to the shortest series and to the stretch the promise covers."""
    spec = forecaster.spec
    if window is None:
        shortest = int(series.lengths.min())
        window = min(monitor.default_window(series.freq, spec.horizon, spec.period), shortest)
        if promise is not None:
            ids = np.zeros(len(promise.mse)) if promise.series is None else promise.series
            fewest = int(pd.Series(ids).value_counts().min())  # the test windows of the series with fewest
            window = min(window, fewest + spec.horizon - 1)
    first_rows = np.array(
        [monitor.first_target_row(int(rows), forecaster, window, series.source) for rows in series.lengths]
    )
    times = series.shown_times
    get_run_logger().info(
        "Monitoring %d rows of %d series: targets %s .. %s",
        int((series.lengths - first_rows).sum()),
        len(series.ids),
        times[series.offsets[0] + first_rows[0]],
        times[-1],
    )
    return first_rows


@task(**IO_RETRIES)
def find_recorded_forecasts(
    name: str, version: str, forecaster: Forecaster, series: SeriesTable, first_rows: np.ndarray
) -> pd.DataFrame | None:
    """The recorded forecasts of the version issued late enough for their targets to lie in a stretch."""
    runs = forecasts.forecast_runs(name, version)
    if not runs:
        return None
    issued = stamps(pd.Series(list(runs.values())), forecaster.spec)
    earliest = series.frame.index[series.offsets[:-1] + first_rows - 1].min()
    recent = [run_id for run_id, time in zip(runs, issued, strict=True) if time >= earliest]
    return forecasts.read_records(recent)


@task(cache_policy=NO_CACHE)
def score(
    forecaster: Forecaster, series: SeriesTable, recorded: pd.DataFrame | None, first_rows: np.ndarray
) -> list[monitor.Scores]:
    """Per series: the recorded forecasts whose targets arrived, if any; else rolling origins over its
    stretch."""
    scored = monitored_series.score_series(forecaster, series, first_rows, recorded)
    sources = sorted({scores.source for scores in scored})
    get_run_logger().info(
        "Scored %d windows of %d series (%s)",
        sum(len(s.mse) for s in scored),
        len(scored),
        ", ".join(sources),
    )
    return scored


@task(cache_policy=NO_CACHE)
def judge(
    scored: list[monitor.Scores],
    promise: Promise | None,
    test_mse: float,
    series: SeriesTable,
    first_rows: np.ndarray,
) -> tuple[monitor.Verdict, pd.DataFrame]:
    """Realised against promised, over all series and per series (the table, worst first), and the
    stretches' inputs against the train rows."""
    stretch = monitored_series.stretch_rows(series, first_rows)
    rows = series.frame.iloc[stretch][series.file_columns]
    verdict = monitor.judge(monitored_series.pooled(scored), promise and promise.pooled(), test_mse, rows)
    by_series = monitored_series.series_bands(scored, series.ids, promise, verdict.error_band)
    by_series = by_series.sort_values("ratio", ascending=False, kind="stable").reset_index(drop=True)
    for reason in verdict.reasons:
        get_run_logger().warning("Degraded: %s", reason)
    return verdict, by_series


def windows_table(scores: monitor.Scores, series: SeriesTable) -> pd.DataFrame:
    """A row per monitored window (pooled over series at each offset, for many): its first target (in the
    data's zone) and its errors."""
    first_targets = series.shown_times[scores.rows].astype(str)
    table = pd.DataFrame(
        {"first_target": first_targets, "mse_scaled": scores.mse, "persistence_mse_scaled": scores.naive_mse}
    )
    return table if scores.miss is None else table.assign(miss_95=scores.miss)


@task(**IO_RETRIES)
def record_monitoring(
    summary: dict,
    scored: list[monitor.Scores],
    verdict: monitor.Verdict,
    by_series: pd.DataFrame,
    series: SeriesTable,
) -> None:
    """The monitoring run: figures, verdict, windows, drift table, the plot of the error over time and, for
    many series, the table of each series against its band."""
    scores = monitored_series.pooled(scored)
    drift = pd.DataFrame(
        {
            "column": list(verdict.drift),
            "psi": list(verdict.drift.values()),
            "threshold": [verdict.drift_thresholds[c] for c in verdict.drift],
        }
    )
    drift["drifted"] = drift["psi"] > drift["threshold"]
    figure = plots.monitor_plot(
        series.shown_times[scores.rows], scores.mse, scores.naive_mse, verdict.error_band, verdict.degraded
    )
    many = series.series_column is not None
    monitoring.log_monitoring(
        summary, windows_table(scores, series), drift, figure, by_series if many else None
    )


@task(cache_policy=NO_CACHE)
def emit_verdict(summary: dict) -> str | None:
    """`bilstm.model.degraded` or `bilstm.model.healthy` about the registered model and version, with the
    summary as payload; the event's name, or None where Prefect emits no events."""
    name, model, version = (
        DEGRADED if summary["degraded"] else HEALTHY,
        summary["model_name"],
        summary["model_version"],
    )
    resource = {
        "prefect.resource.id": f"bilstm.registered-model.{model}",
        "prefect.resource.name": model,
        "bilstm.model.name": model,
        "bilstm.model.version": version,
    }
    payload = {key: value for key, value in summary.items() if key != "event"}
    event = emit_event(event=name, resource=resource, payload=payload)
    return None if event is None else name
