"""`bilstm dashboard`: a Prefect server (UI + scheduler), an MLflow server on the store that `bilstm train`
writes by default, and the served deployments — started together, stopped together, no orphans left.

State lives in one directory (default: the current one): `mlflow.db` and `mlruns/` (MLflow, the same files
`bilstm train` uses there), `.prefect/` (Prefect's database), `.bilstm/` (checkpoints, server logs). With a
PostgreSQL `database`, both servers keep their tables there instead and MLflow serves the artifacts from
`mlartifacts/`, so that machines elsewhere need only the two URLs.
Only subprocesses are started here: this module imports neither Prefect nor MLflow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from deployments.database import Database
from deployments.malloc_tuning import with_tuned_malloc
from deployments.processes import stop_group, wait_for

LOOPBACK = ("127.0.0.1", "localhost", "::1")
READY_TIMEOUT = 300  # seconds the served deployments may take to be ready (the flows import torch and MLflow)


class DashboardError(RuntimeError):
    """A server did not start; the message names it and its log file."""


def _tool(name: str) -> str:
    """A console script of this environment (works without the venv's bin/ on PATH)."""
    sibling = Path(sys.executable).parent / name
    return str(sibling) if sibling.exists() else name


@dataclass
class Dashboard:
    host: str
    prefect_port: int
    mlflow_port: int
    state_dir: Path
    prefect_file: Path | None = None  # the deployments to serve; None: the packaged prefect.yaml
    database: Database | None = None  # None: SQLite files in state_dir
    children: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def prefect_url(self) -> str:
        return f"http://{self.host}:{self.prefect_port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{self.host}:{self.mlflow_port}"

    @property
    def local_api(self) -> str:
        """The Prefect API as this machine reaches it."""
        return self._local(f"{self.prefect_url}/api")

    def _local(self, url: str) -> str:
        """The URL to reach a server from this machine, also when it binds every interface."""
        return url.replace(f"//{self.host}:", "//127.0.0.1:") if self.host in ("0.0.0.0", "::") else url

    def start(self, timeout: float = 180) -> None:
        state = self.state_dir.resolve()
        logs = state / ".bilstm" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        base = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", MLFLOW_DISABLE_TELEMETRY="true")
        prefect_env = base | {
            "PREFECT_HOME": str(state / ".prefect"),
            # the UI's JavaScript calls the API at this address (by default it assumes port 4200)
            "PREFECT_UI_API_URL": f"{self.prefect_url}/api",
            "PREFECT_SERVER_API_HOST": self.host,
            "PREFECT_SERVER_API_PORT": str(self.prefect_port),
        }
        # the database URL goes to the servers only, by environment: a command line is public in `ps`
        self._spawn(
            "prefect",
            [_tool("prefect"), "server", "start", "--host", self.host, "--port", str(self.prefect_port)],
            prefect_env | (self.database.prefect_environment() if self.database else {}),
            logs,
        )
        mlflow = [_tool("mlflow"), "server", "--host", self.host, "--port", str(self.mlflow_port)]
        mlflow_env = base | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        if self.database:
            mlflow += ["--serve-artifacts", "--artifacts-destination", str(state / "mlartifacts")]
            mlflow_env |= self.database.mlflow_environment()
        else:
            mlflow += ["--backend-store-uri", f"sqlite:///{state / 'mlflow.db'}"]
            mlflow += ["--default-artifact-root", str(state / "mlruns")]
        self._spawn("mlflow", [*mlflow, "--workers", "1"], mlflow_env, logs)
        self._wait_healthy("prefect", self._local(f"{self.prefect_url}/api/health"), timeout, logs)
        self._wait_healthy("mlflow", self._local(f"{self.mlflow_url}/health"), timeout, logs)
        # flow runs (children of the serve process) train: give them the tuned allocator
        serve_env = with_tuned_malloc(prefect_env) | {
            "PREFECT_API_URL": self.local_api,
            "PREFECT_UI_URL": self.prefect_url,
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
            "MLFLOW_TRACKING_URI": self._local(self.mlflow_url),
            "BILSTM_MLFLOW_UI": self.mlflow_url,
            "BILSTM_HOME": str(state / ".bilstm"),
        }
        command = [sys.executable, "-m", "deployments.serve"]
        if self.prefect_file:
            command += ["--prefect-file", str(self.prefect_file.resolve())]
        self._spawn("serve", command, serve_env, logs, cwd=state)

    def _spawn(self, name: str, command: list[str], env: dict, logs: Path, cwd: Path | None = None) -> None:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps writing after we return
        self.children[name] = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _wait_healthy(self, name: str, url: str, timeout: float, logs: Path) -> None:
        log = logs / f"{name}.log"
        try:
            wait_for(url, timeout, self.children[name])
        except ChildProcessError:
            raise DashboardError(f"the {name} server exited at start-up; see {log}") from None
        except TimeoutError:
            raise DashboardError(
                f"the {name} server was not healthy after {timeout:.0f} s; see {log}"
            ) from None

    def stop(self, grace: float = 15) -> None:
        """Stop the children in reverse start order (the deployments first, while the API is still up):
        SIGTERM each one's process group, then SIGKILL whatever of it is left after `grace` seconds."""
        for child in reversed(list(self.children.values())):
            stop_group(child, grace, signals=(signal.SIGTERM,))

    def first_exited(self) -> str | None:
        return next((name for name, child in self.children.items() if child.poll() is not None), None)


def deployment_names(prefect_file: Path | None) -> list[str]:
    """The names of the deployments a prefect.yaml holds (None: the packaged one, served by default)."""
    spec = yaml.safe_load((prefect_file or Path(__file__).with_name("prefect.yaml")).read_text())
    # a file the serve process cannot serve makes it exit, which the dashboard reports: no names, no wait
    entries = spec.get("deployments") if isinstance(spec, dict) else None
    return [entry["name"] for entry in entries or [] if isinstance(entry, dict) and "name" in entry]


def not_ready(api: str, names: list[str]) -> list[str]:
    """Those of the deployments `names` that the Prefect server at `api` does not hold yet or shows as
    NOT_READY (no runner has polled for their runs: the UI would offer nothing to run); all of them while
    the API does not answer."""
    query = {"deployments": {"name": {"any_": names}}, "limit": len(names) + 1}
    request = urllib.request.Request(
        f"{api}/deployments/filter", json.dumps(query).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status = {entry["name"]: entry.get("status") for entry in json.load(response)}
    except (OSError, ValueError):
        return names
    return [name for name in names if status.get(name) != "READY"]


def run(
    host: str,
    prefect_port: int,
    mlflow_port: int,
    state_dir: Path,
    prefect_file: Path | None = None,
    database: Database | None = None,
) -> int:
    """Start everything, print the URLs, and stop everything on Ctrl-C / SIGTERM or if a server dies.

    A `database` is checked (and its two schemas created) before any server starts."""
    if database:
        database.prepare()
    if host not in LOOPBACK:
        warnings.warn(
            f"binding {host}: the Prefect and MLflow UIs have no authentication; anyone who can reach this"
            " machine can run flows and read models",
            stacklevel=2,
        )
    dashboard = Dashboard(host, prefect_port, mlflow_port, state_dir, prefect_file, database=database)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    names = deployment_names(prefect_file)
    logs = state_dir / ".bilstm" / "logs"
    try:
        dashboard.start()
        # the servers answer now; the deployments are served once the serve process has imported the flows
        print(f"Prefect UI: {dashboard.prefect_url}  (deployments starting: {', '.join(names)})", flush=True)
        print(f"MLflow UI:  {dashboard.mlflow_url}", flush=True)
        if database:
            print(f"Database:   {database.redacted}  (schemas prefect and mlflow)", flush=True)
        print(f"State:      {state_dir.resolve()}  (Ctrl-C stops everything)", flush=True)
        started, pending = time.monotonic(), names
        while not stopping:
            exited = dashboard.first_exited()
            if exited:
                print(f"the {exited} process stopped; see {logs}", file=sys.stderr)
                return 1
            if pending:
                pending = not_ready(dashboard.local_api, names)
                waited = time.monotonic() - started
                if not pending:
                    ready = f"{dashboard.prefect_url}/deployments"
                    print(f"Deployments ready after {waited:.0f} s: {ready}", flush=True)
                elif waited > READY_TIMEOUT:
                    print(
                        f"deployments not ready after {READY_TIMEOUT} s: {', '.join(pending)}; see"
                        f" {logs / 'serve.log'}",
                        file=sys.stderr,
                    )
                    pending = []
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.stop()
    return 0
