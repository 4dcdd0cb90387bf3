"""The monitor flow: find the registered version and its promise -> read the newest actuals -> the monitored
stretch of each series -> the recorded forecasts whose targets arrived (else rolling origins) -> score ->
judge over all series and per series -> emit
`bilstm.model.degraded` or `bilstm.model.healthy` -> record the monitoring run and a report.

One MLflow run per flow run in the experiment `bilstm-monitoring`. The flow succeeds whether the model is
degraded or not: the verdict is the event (and the run's tags), not the flow run's state.
"""

from __future__ import annotations

from typing import Annotated

import mlflow
from prefect import flow
from prefect.runtime import flow_run
from pydantic import Field

from bilstm.config import CsvConfig
from tasks.forecasting import load_forecaster
from tasks.monitor_summary import publish_monitor_report, summary_of
from tasks.monitoring import (
    emit_verdict,
    find_recorded_forecasts,
    find_version,
    judge,
    load_promise,
    plan_stretch,
    read_actuals,
    record_monitoring,
    score,
)
from tracking.monitoring import MONITOR_EXPERIMENT
from tracking.runs import run_url, tracked_run
from tracking.store import use_tracking


@flow(name="monitor")
def monitor_flow(
    model_uri: str = "models:/bilstm-forecaster@champion",
    data: str | None = None,
    window: Annotated[int, Field(ge=1)] | None = None,
    csv: CsvConfig = CsvConfig(),  # noqa: B008 - pydantic default
) -> dict:
    """Score a registered model on the newest rows of `data` (empty = the built-in data set) against what it
    promised at registration, check its inputs for drift, and emit the verdict as a Prefect event. `window`:
    the rows monitored (empty = a week of steps for hourly data); `csv`: the separator and decimal mark of a
    CSV `data` (empty: sniffed)."""
    use_tracking(MONITOR_EXPERIMENT)
    with tracked_run(flow_run.name) as run:
        mlflow.log_params({"model_uri": model_uri, "data": data or "built-in ETTh1", "window": window})
        mlflow.set_tag("prefect.flow_run_id", str(flow_run.id))
        version = find_version(model_uri)
        promise, test_mse = load_promise(version[2], model_uri)
        forecaster = load_forecaster(f"models:/{version[0]}/{version[1]}", version)
        series = read_actuals(forecaster, data, csv)
        first_rows = plan_stretch(series, forecaster, promise, window)
        recorded = find_recorded_forecasts(version[0], version[1], forecaster, series, first_rows)
        scored = score(forecaster, series, recorded, first_rows)
        verdict, by_series = judge(scored, promise, test_mse, series, first_rows)
        run_link = (run.info.run_id, run_url(run))
        summary = summary_of(run_link, version, scored, verdict, by_series, series, forecaster.spec.horizon)
        summary["event"] = emit_verdict(summary)
        record_monitoring(summary, scored, verdict, by_series, series)
        publish_monitor_report(summary)
    return summary | {"flow_run_id": str(flow_run.id)}
