"""A real `mlflow server` for tests, started as `bilstm dashboard` starts it (ports, health waits and
stops come from deployments/processes.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deployments.processes import wait_for


def start_mlflow_server(folder, port: int, log_name: str = "mlflow-server.log") -> subprocess.Popen:
    """`mlflow server` on 127.0.0.1:`port` over `folder`/mlflow.db and `folder`/mlruns, as `bilstm dashboard`
    starts it; returns once /health answers. Stop it with `stop_group` (it runs in its own session)."""
    command = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--backend-store-uri", f"sqlite:///{folder}/mlflow.db"]
    command += ["--default-artifact-root", f"{folder}/mlruns", "--workers", "1"]
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    with open(Path(folder) / log_name, "a") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    wait_for(f"http://127.0.0.1:{port}/health")
    return server
