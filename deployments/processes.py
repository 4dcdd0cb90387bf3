"""Process plumbing for servers started as child processes: a free loopback port, a wait for a health URL,
is-alive and the descendants of a PID (read from /proc), and a stop of a child's process group that leaves
no orphans. Used by `bilstm dashboard` and by the tests that start real servers; stdlib only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, timeout: float = 240, process: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 200.

    Raises:
        TimeoutError: it did not within `timeout` seconds.
        ChildProcessError: `process` (the server behind `url`, if given) exited first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ChildProcessError(f"process {process.pid} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(url)


def descendants(root: int) -> list[int]:
    """Every process below `root`, read from /proc (empty where /proc does not exist)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_group(
    process: subprocess.Popen,
    grace: float = 10,
    signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT),
) -> None:
    """Stop a child started with `start_new_session=True` and every process below it.

    Sends each of `signals` in turn to the child's process group (by default SIGTERM, then SIGINT as Ctrl-C
    would), each time waiting up to `grace` seconds for the whole tree to exit; then SIGKILLs what is left,
    also in the groups that descendants started of their own.
    """
    tree = [process.pid, *descendants(process.pid)]
    for sig in signals:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)  # its own group: the child leads it
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(pid) for pid in tree):
            process.poll()
            time.sleep(0.2)
        if not any(alive(pid) for pid in tree):
            break
    for pid in tree:
        if alive(pid):
            _signal_group(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    process.wait(timeout=10)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), sig)
