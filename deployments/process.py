"""The `bilstm` command as a process, apart from its commands: quiet environment defaults for an embedded,
offline-friendly run, Prefect's run logs without tracebacks (the CLI prints its own one-line error), and the
end of the process (`deployments.fast_exit`). Imports neither Prefect nor MLflow.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from deployments.fast_exit import exit_without_teardown

# a user's own settings win
ENV_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # the smoke test's download of two small files
}


def apply_env_defaults() -> None:
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


class _NoTracebacks(logging.Filter):
    """Keep log lines, drop their tracebacks: the CLI's own one-line error says what went wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


def quiet_prefect_tracebacks() -> None:
    """Drop tracebacks from the flow- and task-run logs, and from MLflow's log of a database error that it
    raises then (the CLI shows them with --debug)."""
    for name in ("prefect.flow_runs", "prefect.task_runs", "mlflow.store.db.utils"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTracebacks) for f in logger.filters):
            logger.addFilter(_NoTracebacks())


def run_and_exit(app: Callable[[], object]) -> None:
    """Run the command line `app`, then end the process with its exit code, without module teardown."""
    try:
        app()
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    if code is not None and not isinstance(code, int):  # sys.exit("message") prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    exit_without_teardown(code or 0)
