"""`bilstm` where no Prefect API is configured: it runs its own temporary Prefect server, whose records
(flow run, state, logs) land in PREFECT_HOME, and which is gone when the command ends, even by kill -9.
A server that cannot start is one error line and exit 1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from deployments.processes import alive, descendants
from tests.helpers import BILSTM, tiny_args

pytestmark = pytest.mark.slow  # starts Prefect's temporary server through `bilstm train`

TINY = tiny_args()  # each test sets its own --epochs
SERVER_APP = "prefect.server.api.server:create_app"


@pytest.fixture
def no_api_env(tmp_path) -> dict[str, str]:
    """No PREFECT_API_URL; a fresh PREFECT_HOME and MLflow store in tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_UI_URL")}
    return env | {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "BILSTM_HOME": str(tmp_path / "bilstm-home"),
    }


def servers_of(prefect_home: str) -> list[int]:
    """PIDs of Prefect API servers running on `prefect_home` (read from /proc)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if SERVER_APP.encode() in cmdline and f"PREFECT_HOME={prefect_home}".encode() in environ:
            found.append(int(proc.name))
    return found


def test_train_records_its_run_in_prefect_home_and_leaves_no_server_behind(
    synthetic_csv, no_api_env, tmp_path
):
    result = subprocess.run(
        [BILSTM, "train", "--data", synthetic_csv, *TINY, "--epochs", "2", "--json"],
        cwd=tmp_path, env=no_api_env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    database = sqlite3.connect(Path(no_api_env["PREFECT_HOME"]) / "prefect.db")
    [(state,)] = database.execute("select state_type from flow_run where id = ?", (summary["flow_run_id"],))
    [(logs,)] = database.execute("select count(*) from log where flow_run_id = ?", (summary["flow_run_id"],))
    assert state == "COMPLETED"
    assert logs >= 5  # the run's log lines were sent before the server stopped
    assert "View at" not in result.stderr  # no links to a UI that is not served
    assert servers_of(no_api_env["PREFECT_HOME"]) == []


def test_killing_bilstm_takes_its_temporary_server_down(synthetic_csv, no_api_env, tmp_path):
    command = [BILSTM, "train", "--data", synthetic_csv, *TINY, "--epochs", "500"]
    cli = subprocess.Popen(command, cwd=tmp_path, env=no_api_env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (servers := set(descendants(cli.pid)) & set(servers_of(no_api_env["PREFECT_HOME"]))):
            assert cli.poll() is None, "bilstm ended before its server was seen"
            assert time.monotonic() < deadline, "no temporary server within 120 s"
            time.sleep(0.1)

        os.kill(cli.pid, signal.SIGKILL)  # the command alone: no chance to run its exit handlers
        cli.wait(timeout=30)

        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in servers)
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the command's process group
            os.killpg(cli.pid, signal.SIGKILL)


def test_a_server_that_cannot_start_is_one_error_line_and_exit_1(synthetic_csv, no_api_env, tmp_path):
    env = no_api_env | {"PREFECT_API_DATABASE_CONNECTION_URL": "sqlite+aiosqlite:////no/such/dir/prefect.db"}
    result = subprocess.run(
        [BILSTM, "train", "--data", synthetic_csv, *TINY, "--epochs", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the temporary Prefect server exited with code 3 on start-up")
    assert no_api_env["PREFECT_HOME"] in last
    assert not (tmp_path / "mlflow.db").exists()  # nothing was tracked
