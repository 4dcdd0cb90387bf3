"""Helpers for tests that start real servers: a free loopback port, a health wait, a stop by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 240) -> None:
    """Poll `url` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def stop_group(process: subprocess.Popen, signals=(signal.SIGTERM, signal.SIGINT), grace: float = 10) -> None:
    """Signal the process group of a child started with start_new_session=True; SIGKILL it at the end."""
    for sig in signals:
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=grace)


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
