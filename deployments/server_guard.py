"""Ends the processes that a `bilstm` command started (its temporary Prefect server) when the command ends,
however it ends, kill -9 included. Prefect's `SubprocessASGIServer` takes no pre-exec hook, so a small
watcher process does it: it waits for the command's end of a pipe to close, then sends SIGTERM to every
process whose environment carries the command's mark (read from /proc: Linux; elsewhere it does nothing).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

MARK = "BILSTM_STARTED_BY"  # environment variable: which command started the process

WATCHER = """
import os, signal, sys
sys.stdin.buffer.read()  # returns once the command's end of the pipe is closed: the command has ended
mark = sys.argv[1].encode()
for pid in filter(str.isdigit, os.listdir("/proc") if os.path.isdir("/proc") else []):
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            if mark in environ.read().split(b"\\0"):
                os.kill(int(pid), signal.SIGTERM)
    except OSError:
        pass
"""

_watcher: subprocess.Popen | None = None


def end_children_with_this_process() -> None:
    """From now on, the processes this one starts (and theirs) get SIGTERM when it ends."""
    global _watcher
    if _watcher is not None:
        return
    mark = f"{os.getpid()}-{secrets.token_hex(8)}"
    # its own session: Ctrl-C on the command's terminal does not stop it before it has done its work
    _watcher = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", WATCHER, f"{MARK}={mark}"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    os.environ[MARK] = mark  # set after the watcher started: it does not carry the mark itself
