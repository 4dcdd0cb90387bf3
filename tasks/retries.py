"""Retry conditions for I/O tasks: retry what may be transient, never an error the input will repeat."""

from __future__ import annotations

from collections.abc import Callable


def retry_unless(*permanent: type[BaseException]) -> Callable:
    """A Prefect `retry_condition_fn` that retries any failure except the `permanent` exception types."""

    def condition(task, task_run, state) -> bool:
        try:
            state.result()
        except permanent:
            return False
        except Exception:  # noqa: BLE001 - anything else may be transient
            return True
        return False

    return condition
