"""A registry-wide mutex for promotions, so two retrains that finish together cannot both move `champion`.

Without it, both read "no champion" (or the same old one), both win their comparison, and the last one to
set the alias wins even if it is the worse model. MLflow has no compare-and-set on aliases, but creating a
registered model is atomic and unique by name (a database constraint, also behind a tracking server), so a
registered model named `<model>.promotion-lock` is the lock: whoever creates it holds it, deleting it
releases it. It works across processes and machines that share the registry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

SUFFIX = ".promotion-lock"
STALE_AFTER_S = 900  # a holder killed with -9 leaves a RUNNING run behind; its lock expires after this
_CONTENDED = ("RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST")


def _stale_lock(client: MlflowClient, name: str) -> int | None:
    """The creation time of the lock if its holder run has ended (it failed without releasing) or the lock
    is too old; None if the lock is live or already gone."""
    try:
        lock = client.get_registered_model(name)
    except MlflowException:
        return None  # released meanwhile: just try again
    holder = lock.tags.get("holder_run_id")
    try:
        ended = holder is not None and client.get_run(holder).info.status != "RUNNING"
    except MlflowException:
        ended = True  # the holder run was deleted
    too_old = time.time() - lock.creation_timestamp / 1000 > STALE_AFTER_S
    return lock.creation_timestamp if ended or too_old else None


def _break(client: MlflowClient, name: str, created: int) -> None:
    """Delete the stale lock, unless another waiter already replaced it (then that one is live)."""
    try:
        if client.get_registered_model(name).creation_timestamp == created:
            client.delete_registered_model(name)
    except MlflowException:
        pass  # gone already


@contextmanager
def promotion_lock(
    client: MlflowClient, model_name: str, run_id: str, timeout: float = 600
) -> Iterator[None]:
    """Hold the promotion lock of `model_name` for the block; wait (with growing pauses) while another run
    holds it, break it if its holder has ended, and give up with TimeoutError after `timeout` seconds."""
    name, delay = model_name + SUFFIX, 0.2
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.create_registered_model(
                name,
                tags={"holder_run_id": run_id},
                description=f"Held by MLflow run {run_id} while it decides on {model_name}@champion",
            )
            break
        except MlflowException as error:
            if error.error_code not in _CONTENDED:
                raise
        stale = _stale_lock(client, name)
        if stale is not None:
            _break(client, name, stale)
            continue
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} held by another run for over {timeout:.0f} s; delete it if none is")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    try:
        yield
    finally:
        client.delete_registered_model(name)
