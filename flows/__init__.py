"""Prefect flows: compose the tasks into recipes (train now; forecast and retrain build on it)."""

import logging

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

# The MLflow adapter logs through the standard library, as it never imports Prefect; its warnings (a tracking
# server not reached yet, a run not marked FAILED yet) belong in the flow run's log too, as Prefect's setting
# PREFECT_LOGGING_EXTRA_LOGGERS would put them, had it been set before Prefect set up its logging. Outside a
# run there is no run log to send them to (Prefect would warn of each): they go to the console alone.
to_run_log = APILogHandler()
to_run_log.addFilter(lambda record: FlowRunContext.get() is not None or TaskRunContext.get() is not None)
logging.getLogger("tracking").addHandler(to_run_log)
