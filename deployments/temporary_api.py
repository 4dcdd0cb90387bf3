"""The temporary Prefect API of a `bilstm` command where none is configured (PREFECT_API_URL): Prefect's own
`SubprocessASGIServer`, the server of its ephemeral mode, plus what a command around one flow run needs: it
starts in a background thread while the flow's modules import; commands started together start theirs one
after another (a lock in PREFECT_HOME), so only one creates or migrates the database; it dies with the
command (`deployments.server_guard`); a server that cannot start is one `TemporaryApiError`.
"""

from __future__ import annotations

import importlib
import os
import socket
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from prefect.context import refresh_global_settings_context
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

from deployments.server_guard import end_children_with_this_process
from tracking.file_lock import FileLock

UVICORN_STARTUP_FAILURE = 3  # uvicorn's exit code when it cannot start: a bad database, or the port taken
START_LOCK = "temporary-server.lock"  # in PREFECT_HOME: held from a server's launch until it is healthy
TIMEOUT_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


class TemporaryApiError(RuntimeError):
    """The temporary Prefect server did not start; the message says how it ended."""


class TemporaryApi:
    """Prefect's temporary server, starting in a background thread from construction on."""

    def __init__(self, home: Path, timeout_s: float) -> None:
        self.server = SubprocessASGIServer()  # the instance that Prefect's ephemeral mode would start
        self.home, self.timeout_s = home, timeout_s
        self._launched_at: float | None = None  # once the start lock is ours
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="temporary-prefect-server", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            with FileLock(self.home / START_LOCK):  # another command's server may be migrating the database
                self._launched_at = time.monotonic()
                # Prefect registers the server's stop at exit here, before the flow's log and event
                # workers register theirs: the server stops after they have sent the last logs and events
                self.server.start(timeout=int(self.timeout_s))
        except BaseException as error:  # noqa: BLE001 - reported by wait_until_ready, in the main thread
            self._error = error

    def wait_until_ready(self, preload: Iterable[str] = ()) -> None:
        """Block until the server answers, then point Prefect at it.

        While it is not ready, import the `preload` modules one by one: modules the flow imports anyway
        later (torch's optimizers import torch._dynamo on first use), so their time overlaps the server's
        start-up instead of following it.
        """
        pending = list(preload)
        while pending and self._thread.is_alive():
            importlib.import_module(pending.pop(0))
        while self._thread.is_alive():
            self._thread.join(0.1)
            code = self._start_up_exit_code()
            if code is not None:
                self._give_up(
                    f"the temporary Prefect server exited with code {code} on start-up (its error is above);"
                    f" check the Prefect settings (PREFECT_HOME={self.home})"
                )
            if self._launched_at is not None and time.monotonic() > self._launched_at + self.timeout_s:
                self._give_up(self._timeout_message())
        if self._error is not None:
            raise TemporaryApiError(f"{self._timeout_message()} ({self._error})") from self._error
        os.environ["PREFECT_API_URL"] = self.server.api_url
        # the UI is off: an empty UI URL keeps Prefect from logging links to pages that will not exist
        os.environ["PREFECT_UI_URL"] = ""
        refresh_global_settings_context()

    def flow_settings(self) -> AbstractContextManager:
        """Settings for a flow run against this server: no heartbeats. They let a lasting server mark a
        crashed run, but this one goes with the process, and Prefect's heartbeat thread, which sleeps in
        1 s steps, held up the end of every flow run by up to 1 s."""
        return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})

    def _start_up_exit_code(self) -> int | None:
        """The exit code of a server process that ended; None while it runs, and when the port was taken
        meanwhile (Prefect then starts another on a new port)."""
        process, port = self.server.server_process, self.server.port
        code = None if process is None else process.poll()
        if code == UVICORN_STARTUP_FAILURE and port is not None and _taken(port):
            return None
        return code

    def _timeout_message(self) -> str:
        return (
            f"the temporary Prefect server did not answer within {self.timeout_s:.0f} s; raise"
            f" {TIMEOUT_SETTING} or set PREFECT_API_URL to a running server"
        )

    def _give_up(self, message: str) -> None:
        # Stopping ends Prefect's start-up loop in the thread (it finds no process), unless the loop was
        # relaunching a server that exited meanwhile: stop again until the thread has ended, so no server is
        # left for Prefect's exit handler to stop (and log) after this error
        deadline = time.monotonic() + 10
        while self._thread.is_alive() and time.monotonic() < deadline:
            self.server.stop()
            self._thread.join(0.2)
        self.server.stop()
        raise TemporaryApiError(message)


def _taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def configured_api() -> bool:
    """Whether a Prefect API is configured (PREFECT_API_URL, in the environment or the Prefect profile)."""
    return bool(get_current_settings().api.url)


def start() -> TemporaryApi | None:
    """Start the temporary API unless a Prefect API is configured or ephemeral mode is off."""
    settings = get_current_settings()
    if configured_api() or not settings.server.ephemeral.enabled:
        return None
    home = Path(settings.home)
    home.mkdir(parents=True, exist_ok=True)
    end_children_with_this_process()
    return TemporaryApi(home, settings.server.ephemeral.startup_timeout_seconds)
