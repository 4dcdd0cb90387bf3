"""A backtest's or sweep's claim on its job (the lock of `tasks.checkpoints`, with no checkpoint behind it),
and the end of what a killed (kill -9) earlier run of that job left running: its MLflow run and nested runs
still RUNNING marked KILLED, its Prefect flow run and task runs CRASHED. The lock's owner note says whose."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.exceptions import ObjectNotFound
from prefect.states import Crashed

from tasks import checkpoints
from tracking.runs import end_killed_run

KILLED_NOTE = "its process was killed; ended by the re-run of the same job"


def job_key(*parts: str) -> str:
    """A short digest naming one job (e.g. its data set's name, target and config)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def claim_job(kind: str, key: str, owner: dict) -> checkpoints.Claim:
    """This process's claim on the `kind` job `key` (under `BILSTM_HOME`); `previous_owner` is the owner
    note of a run of the same job whose process died holding it. A claim held by a live process (the same
    job running concurrently) gives a private, unshared one: nothing to end then."""
    home = Path(os.environ.get("BILSTM_HOME", ".bilstm"))
    return checkpoints.claim(home / kind / key, owner)


@contextmanager
def releasing(claim: checkpoints.Claim) -> Iterator[checkpoints.Claim]:
    """Hold `claim` for the block, then release it and remove its lock file (the job ended, one way or
    another: only a killed process leaves its owner note for the next run)."""
    try:
        yield claim
    finally:
        claim.release()


def end_killed(previous: dict, resumed_by: str) -> str | None:
    """End what the killed run in `previous` (`run_id`, `flow_run_id`) left running; its MLflow run id if
    that run was still RUNNING (now KILLED, with its RUNNING nested runs), else None."""
    if flow_run_id := previous.get("flow_run_id"):
        _crash_flow_run(flow_run_id)
    run_id = previous.get("run_id")
    return run_id if run_id and end_killed_run(run_id, resumed_by, nested=True) else None


def _crash_flow_run(flow_run_id: str) -> None:
    """Mark CRASHED the flow run and its task runs that still show as running (by id: cheap)."""
    with get_client(sync_client=True) as client:
        try:
            flow_run = client.read_flow_run(flow_run_id)
        except ObjectNotFound:  # another Prefect server, or the run was deleted
            return
        of_flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        for task_run in client.read_task_runs(flow_run_filter=of_flow_run):
            if task_run.state is not None and not task_run.state.is_final():
                client.set_task_run_state(task_run.id, Crashed(message=KILLED_NOTE), force=True)
        if flow_run.state is not None and not flow_run.state.is_final():
            client.set_flow_run_state(flow_run.id, Crashed(message=KILLED_NOTE), force=True)
