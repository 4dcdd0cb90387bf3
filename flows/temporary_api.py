"""The temporary Prefect API of a `bilstm` command where none is configured (PREFECT_API_URL): the server that
Prefect would start when the flow first needs it, after the heavy imports, started before them instead, so
that its start-up (4-10 s here; a database migration on a new PREFECT_HOME) overlaps them. It is stopped at
exit after Prefect's own exit handlers have sent the last logs and events, and dies with the process.
Servers of commands started together start one after another (a lock in PREFECT_HOME), so that only one
creates or migrates the database.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from prefect.context import refresh_global_settings_context
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

from bilstm.file_lock import FileLock

UVICORN_STARTUP_FAILURE = 3  # uvicorn's exit code when it cannot start: port taken meanwhile, bad database
START_LOCK = "temporary-server.lock"  # in PREFECT_HOME: held from a server's launch until it is healthy


class TemporaryApiError(RuntimeError):
    """The temporary Prefect server did not start; the message says how it ended."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, SIGTERM it when the parent dies (even by kill -9)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class TemporaryApi:
    """A temporary server; `process` is None until `start_lock` is ours (another one is starting)."""

    process: subprocess.Popen | None
    port: int
    timeout_s: float
    start_lock: FileLock = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait_until_ready(self, preload: Iterable[str] = ()) -> None:
        """Block until the API answers its health check; restart on another port if this one was taken.
        If another command's server held the start lock, launch ours once that one is up.

        While it is not ready, import the `preload` modules one by one: modules the flow imports anyway
        later (torch's optimizers import torch._dynamo on first use, 1-1.6 s), so their time overlaps the
        server's start-up instead of following it.
        """
        deadline, pending = time.monotonic() + self.timeout_s, list(preload)
        while time.monotonic() < deadline:
            if self.process is None:  # another command's server is starting: ours waits for it
                deadline = time.monotonic() + self.timeout_s  # counted from our own launch
                if self.start_lock.acquire(blocking=False):  # it is up, the database is ready
                    self.port, self.process = _launch()
                    _point_prefect_at(self.url)
            code = None if self.process is None else self.process.poll()
            if code == UVICORN_STARTUP_FAILURE and _taken(self.port):  # another process took the port
                self.port, self.process = _launch()
                _point_prefect_at(self.url)
            elif code is not None:
                self.start_lock.release()
                raise TemporaryApiError(
                    f"the temporary Prefect server exited with code {code} on start-up (its error is above);"
                    f" check the Prefect settings (PREFECT_HOME={get_current_settings().home})"
                )
            try:
                if self.process is not None:
                    with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                        if response.status == 200:
                            self.start_lock.release()
                            return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if pending:
                importlib.import_module(pending.pop(0))
            else:
                time.sleep(0.1)
        self.start_lock.release()
        raise TemporaryApiError(
            f"the temporary Prefect server did not answer within {self.timeout_s:.0f} s; raise"
            " PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or set PREFECT_API_URL to a running server"
        )

    def flow_settings(self) -> AbstractContextManager:
        """Settings for a flow run against this server: no heartbeats. They let a lasting server mark a
        crashed run, but this one goes with the process, and Prefect's heartbeat thread, which sleeps in
        1 s steps, held up the end of every flow run by up to 1 s."""
        return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})

    def stop(self) -> None:
        self.start_lock.release()
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _launch() -> tuple[int, subprocess.Popen]:
    """The command and environment of Prefect's own `SubprocessASGIServer`, on a free port."""
    port = _free_port()
    settings = get_current_settings().to_environment_variables(exclude_unset=True)
    # the environment Prefect gives its own temporary server: no UI, ephemeral services only
    env = {**os.environ, **settings, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT__SERVER_FINAL": "1"}  # fmt: skip
    for pointer in ("PREFECT_API_URL", "PREFECT_UI_URL"):  # set by an earlier try, for the client only
        env.pop(pointer, None)
    app = "prefect.server.api.server:create_app"
    command = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "error", "--lifespan", "on"]  # fmt: skip
    return port, subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509


def _point_prefect_at(url: str) -> None:
    os.environ["PREFECT_API_URL"] = url
    # the UI is off: an empty UI URL keeps Prefect from logging links to pages that will not exist
    os.environ["PREFECT_UI_URL"] = ""
    refresh_global_settings_context()


def start() -> TemporaryApi | None:
    """Start the temporary API unless a Prefect API is configured or ephemeral mode is off."""
    settings = get_current_settings()
    if settings.api.url or not settings.server.ephemeral.enabled:
        return None
    home = Path(settings.home)
    home.mkdir(parents=True, exist_ok=True)
    start_lock = FileLock(home / START_LOCK)
    port, process = _launch() if start_lock.acquire(blocking=False) else (0, None)
    api = TemporaryApi(process, port, settings.server.ephemeral.startup_timeout_seconds, start_lock)
    if process is not None:
        _point_prefect_at(api.url)
    # registered before Prefect's own exit handlers, so it runs after them (atexit runs last-in first-out)
    atexit.register(api.stop)
    return api
