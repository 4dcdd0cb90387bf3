"""Checkpoint claims: a live owner keeps the job's checkpoint, a killed owner's checkpoint is resumed."""

import signal
import subprocess
import sys

import pytest

from bilstm.checkpoints import claim, lock_path

HOLD = (
    "from bilstm.checkpoints import claim; claim({path!r}, 'run_id=abc'); print('held', flush=True); input()"
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
    concurrent = claim(path, "run_id=def")
    assert not concurrent.shared
    assert concurrent.path != path and concurrent.path.parent == path.parent
    concurrent.release()


def test_a_killed_owners_checkpoint_is_claimed_again_with_its_note(owner):
    path, process = owner
    path.write_bytes(b"state of epoch 1")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    again = claim(path, "run_id=def")
    assert again.shared and again.path == path
    assert again.previous_note == "run_id=abc"
    assert path.read_bytes() == b"state of epoch 1"  # left for the re-run to resume
    again.release(remove=True)
    assert not path.exists() and not lock_path(path).exists()


def test_a_released_claim_is_free_for_the_next_run(tmp_path):
    path = tmp_path / "job.pt"
    first = claim(path, "run_id=1")
    first.release(remove=True)
    second = claim(path, "run_id=2")
    assert second.shared and second.previous_note == ""
    second.release()
