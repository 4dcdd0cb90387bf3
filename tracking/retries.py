"""Which MLflow failures are worth another try, and the one helper that tries again where MLflow is called
outside a Prefect task: retry what may succeed on a second try (the network, a busy database, a tracking
server that is restarting), never an error the same input will repeat (bad data, a signature mismatch, a
model that forecasts differently once registered)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError

from bilstm.errors import BadInputError, error_chain
from tracking.disk_space import is_full_disk

T = TypeVar("T")
log = logging.getLogger(__name__)


class TrackingUnavailableError(RuntimeError):
    """The MLflow tracking server or tracking database did not answer. Not the input's fault, so no
    `BadInputError`; the CLI exits with its class's `exit_code` all the same."""

    exit_code = 3


# MLflow error codes of a server or store that is busy or away for a while
_BUSY_CODES = {
    "TEMPORARILY_UNAVAILABLE",
    "SERVICE_UNDER_MAINTENANCE",
    "DEADLINE_EXCEEDED",
    "RESOURCE_EXHAUSTED",
    "REQUEST_LIMIT_EXCEEDED",
    "IO_ERROR",
    "ABORTED",
}
# a unique key another writer took a moment before: MLflow looks a row up, then inserts it, so two runs that
# log the same dataset at once collide (SQLite's and PostgreSQL's words, through a tracking server's answer);
# a second try finds the row
_CONCURRENT_INSERT = ("UNIQUE constraint failed", "duplicate key value violates unique constraint")
# errors the input will repeat, and OS errors that name a path: trying again finds the same path
_PERMANENT = (
    BadInputError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def is_transient(error: BaseException) -> bool:
    """A network or I/O error, a timeout, a busy database or tracking server, anywhere in the chain."""
    for link in error_chain(error):
        if isinstance(link, _PERMANENT) or is_full_disk(link):  # a full disk stays full while we wait
            return False
        if isinstance(link, (OSError, OperationalError, TrackingUnavailableError)):  # OSError: sockets too
            return True
        if getattr(link, "error_code", None) in _BUSY_CODES:
            return True
        if isinstance(link, IntegrityError) or any(words in str(link) for words in _CONCURRENT_INSERT):
            return True
    return False


def retry_delays() -> list[float]:
    """Seconds between the tries to reach a tracking server: `BILSTM_TRACKING_RETRY_DELAYS` (`2,5,10`)."""
    raw = os.environ.get("BILSTM_TRACKING_RETRY_DELAYS", "2,5,10")
    return [float(part) for part in raw.split(",") if part.strip()]


def retried(
    action: Callable[[], T],
    failure: str,
    retry_if: Callable[[Exception], bool] = is_transient,
    delays: list[float] | None = None,
) -> T:
    """`action()`, tried again after each of `delays` (default `retry_delays()`) while it fails with an
    error that `retry_if` accepts; the last error is raised. Before each new try it logs a warning,
    `failure` and the error's type (never its text: MLflow's errors may name a URL with its password)."""
    delays = retry_delays() if delays is None else delays
    for delay in delays:
        try:
            return action()
        except Exception as error:
            if not retry_if(error):
                raise
            log.warning("%s (%s); trying again in %g s", failure, type(error).__name__, delay)
            time.sleep(delay)
    return action()


def reached(check: Callable[[], None], what: str, delays: list[float]) -> None:
    """`check()`, which raises `TrackingUnavailableError` while `what` (a tracking server or database, named
    without credentials) does not answer, tried again after each of `delays`; the last failure says how
    many tries were made and how to fix it."""
    try:
        retried(check, f"{what} not reached yet", lambda e: isinstance(e, TrackingUnavailableError), delays)
    except TrackingUnavailableError as error:
        advice = "start it, or point MLFLOW_TRACKING_URI at a running one"
        raise TrackingUnavailableError(f"{error} after {len(delays) + 1} tries; {advice}") from None
