"""Checkpoint claims: a live owner keeps the job's checkpoint, a killed owner's checkpoint is resumed."""

import json
import os
import signal
import subprocess
import sys

import pytest

from tasks.checkpoints import claim, lock_path

HOLD = (
    "from tasks.checkpoints import claim; claim({path!r}, {{'run_id': 'abc'}}); print('held', flush=True);"
    " input()"
)


@pytest.fixture
def owner(tmp_path):
    """Another process that claims the checkpoint and holds it until killed."""
    path = tmp_path / "checkpoints" / "job.pt"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(path=str(path))], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdout.readline().strip() == b"held"
    yield path, process
    process.kill()
    process.wait(timeout=30)


def test_a_concurrent_claim_gets_a_private_checkpoint_while_the_owner_lives(owner):
    path, _ = owner
    concurrent = claim(path, {"run_id": "def"})
    assert not concurrent.shared
    assert concurrent.path != path and concurrent.path.parent == path.parent
    concurrent.release()


def test_a_killed_owners_checkpoint_is_claimed_again_with_its_owner(owner):
    path, process = owner
    path.write_bytes(b"state of epoch 1")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    again = claim(path, {"run_id": "def"})
    assert again.shared and again.path == path
    assert again.previous_owner == {"run_id": "abc", "pid": process.pid}
    assert path.read_bytes() == b"state of epoch 1"  # left for the re-run to resume
    again.release(remove=True)
    assert not path.exists() and not lock_path(path).exists()


def test_a_released_claim_is_free_for_the_next_run(tmp_path):
    path = tmp_path / "job.pt"
    first = claim(path, {"run_id": "1"})
    first.release(remove=True)
    second = claim(path, {"run_id": "2"})
    assert second.shared and second.previous_owner is None
    second.release()


def test_the_owner_is_written_as_json_and_an_older_note_is_still_read(tmp_path):
    path = tmp_path / "job.pt"
    lock_path(path).write_text("pid=4242 run_id=abc\n")  # as versions before JSON notes wrote it
    held = claim(path, {"run_id": "def"})
    assert held.previous_owner == {"pid": 4242, "run_id": "abc"}
    assert json.loads(lock_path(path).read_text()) == {"run_id": "def", "pid": os.getpid()}
    held.release(remove=True)


def test_a_second_claim_in_the_owning_process_keeps_the_jobs_checkpoint(tmp_path):
    path = tmp_path / "job.pt"
    first = claim(path, {"run_id": "1"})  # e.g. the claim of a flow run that failed before releasing
    second = claim(path, {"run_id": "2"})
    assert second.shared and second.path == path and second.previous_owner is None
    second.release(remove=True)
    first.release()
    assert not path.exists() and not lock_path(path).exists()
