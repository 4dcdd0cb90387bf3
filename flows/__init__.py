"""Prefect flows: compose the tasks into recipes (train now; forecast and retrain build on it)."""

import logging

from prefect.logging.handlers import APILogHandler

# The MLflow adapter logs through the standard library, as it never imports Prefect; its warnings (a tracking
# server not reached yet, a run not marked FAILED yet) belong in the flow run's log too, as Prefect's setting
# PREFECT_LOGGING_EXTRA_LOGGERS would put them, had it been set before Prefect set up its logging.
logging.getLogger("tracking").addHandler(APILogHandler())
