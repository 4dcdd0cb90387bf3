"""Retries for the I/O tasks: Prefect's own task retries, taken only when the failure `is_transient` (the
network, a busy store or server), never for an error the same input will repeat."""

from __future__ import annotations

from prefect.cache_policies import NO_CACHE

from tracking.retries import is_transient


def retry_if_transient(task, task_run, state) -> bool:
    """A Prefect `retry_condition_fn`: retry a failed task run only if its error `is_transient`."""
    try:
        state.result()
    except Exception as error:  # noqa: BLE001 - the state holds whatever the task raised
        return is_transient(error)
    return False


# `@task(**IO_RETRIES)`: two more tries, after 2 and 10 s, for a task that reads or writes the store
IO_RETRIES = dict(
    retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE
)
