"""Helpers for tests that start real servers: a free loopback port, a health wait, a stop by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request


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
