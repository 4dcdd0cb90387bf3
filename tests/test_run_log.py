"""The MLflow adapter's warnings (it logs through the standard library, never Prefect) reach the flow run's
log in Prefect, and outside a run they go to the console alone, without Prefect's missing-run warning."""

import logging
import warnings

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler
from prefect.runtime import flow_run

import flows  # noqa: F401 - attaches the adapter's loggers to the run log


@flow
def warns_through_tracking() -> str:
    logging.getLogger("tracking.store").warning("tracking server not reached yet")
    return str(flow_run.id)


def test_tracking_warnings_go_to_the_flow_run_log_and_outside_a_run_to_the_console_alone(prefect_server):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Prefect warns when a handler sends a log without a run
        logging.getLogger("tracking.store").warning("outside any flow run")

    run_id = warns_through_tracking()
    APILogHandler().flush()  # logs go to the API in batches: send what is queued

    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    assert "tracking server not reached yet" in [log.message for log in logs]
