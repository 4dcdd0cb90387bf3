"""`kill -9` of `bilstm train` mid-training, then the same command again: it resumes from the checkpoint."""

import json
import os
import re
import signal
import subprocess
import time

import torch
from mlflow import MlflowClient

from tests.helpers import BILSTM, tiny_args

LONG = tiny_args(12, "--set", "train.patience=12", "--json")


def epochs_done(home) -> int:
    """Epochs recorded in the job's checkpoint under `home` (0 while there is none)."""
    found = [p for p in (home / "checkpoints").glob("*.pt")] if (home / "checkpoints").exists() else []
    if not found:
        return 0
    return len(torch.load(found[0], weights_only=True)["history"]["train_loss"])


def test_a_killed_training_resumes_on_the_rerun_and_registers_once(synthetic_csv, tracking, tmp_path):
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value())
    command = [BILSTM, "train", "--data", synthetic_csv, *LONG]
    home = tmp_path / "bilstm-home"
    killed = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while epochs_done(home) < 1:
        assert killed.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    done = epochs_done(home)
    assert 1 <= done < 12

    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert re.search(rf"Resumed after epoch {done}\b", rerun.stdout + rerun.stderr)
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert summary["epochs_run"] == 12
    client = MlflowClient(tracking, registry_uri=tracking)
    versions = client.search_model_versions("name='bilstm-forecaster'")
    assert [(str(v.version), v.run_id) for v in versions] == [("1", summary["run_id"])]
    experiment = client.get_experiment_by_name("bilstm-forecaster")
    statuses = {r.info.run_id: r.info.status for r in client.search_runs([experiment.experiment_id])}
    assert statuses.pop(summary["run_id"]) == "FINISHED"
    assert list(statuses.values()) == ["KILLED"]  # the killed attempt's run does not stay RUNNING
    assert not list((home / "checkpoints").iterdir())  # checkpoint and lock removed once registered
