"""Retry conditions for I/O tasks: retry what may succeed on a second try (the network, a busy database, a
tracking server that is restarting), never an error the same input will repeat (bad data, a signature
mismatch, a model that forecasts differently once registered)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.exc import OperationalError

from bilstm.errors import BadInputError

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
# errors the input will repeat, and OS errors that name a path: trying again finds the same path
_PERMANENT = (
    BadInputError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and the errors it was raised from or while handling (MLflow wraps network errors)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def is_transient(error: BaseException) -> bool:
    """A network or I/O error, a timeout, a busy database or tracking server, anywhere in the chain."""
    for link in _chain(error):
        if isinstance(link, _PERMANENT):
            return False
        if isinstance(link, (OSError, OperationalError)):  # OSError: sockets, timeouts, requests' errors
            return True
        if getattr(link, "error_code", None) in _BUSY_CODES:
            return True
    return False


def retry_if_transient(task, task_run, state) -> bool:
    """A Prefect `retry_condition_fn`: retry a failed task run only if its error `is_transient`."""
    try:
        state.result()
    except Exception as error:  # noqa: BLE001 - the state holds whatever the task raised
        return is_transient(error)
    return False
