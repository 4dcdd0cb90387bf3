"""Real servers for tests (and `bench/scale.py`): `mlflow server` as `bilstm dashboard` starts it, over SQLite
or (artifacts proxied) over a database, `prefect server` over SQLite or PostgreSQL, a throwaway PostgreSQL
cluster, and a `dask scheduler` with `dask worker` processes. Ports, health waits and stops come from
deployments/processes.py."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from deployments.processes import free_port, stop_group, wait_for


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


def start_proxied_mlflow_server(
    folder, port: int, backend_store_uri: str, log_name: str = "mlflow-server.log"
) -> subprocess.Popen:
    """`mlflow server` on 127.0.0.1:`port` over the database `backend_store_uri`, serving the artifacts itself
    from `folder`/artifacts: clients read and write them through the server (`mlflow-artifacts:/`) and need
    no access to that folder. Returns once /health answers; stop it with `stop_group`."""
    command = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--backend-store-uri", backend_store_uri, "--workers", "1"]
    command += ["--serve-artifacts", "--artifacts-destination", f"{folder}/artifacts"]
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    with open(Path(folder) / log_name, "a") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    wait_for(f"http://127.0.0.1:{port}/health", process=server)
    return server


def start_prefect_server(
    folder, port: int, database_url: str | None = None, log_name: str = "prefect-server.log"
) -> subprocess.Popen:
    """`prefect server start` on 127.0.0.1:`port` without the UI, its home in `folder`/prefect-home and its
    database `database_url` (`postgresql+asyncpg://…`), by default SQLite in that home. Returns once
    /api/health answers; stop it with `stop_group`."""
    command = [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-ui"]
    env = dict(os.environ, PREFECT_HOME=str(Path(folder) / "prefect-home"))
    if database_url is not None:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    with open(Path(folder) / log_name, "a") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/health", process=server)
    except (TimeoutError, ChildProcessError):
        stop_group(server)
        raise
    return server


def postgres_bindir() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, postgres, pg_isready, createdb): Debian's newest
    /usr/lib/postgresql/N/bin, else the one `initdb` on PATH is in; None where there is none."""
    initdbs = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    debian = [initdb.parent for initdb in initdbs if initdb.parent.parent.name.isdigit()]
    if debian:
        return max(debian, key=lambda bindir: int(bindir.parent.name))
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass
class PostgresCluster:
    """A running throwaway cluster: superuser `user` with a random `password`, on 127.0.0.1:`port` only."""

    bindir: Path
    folder: Path
    port: int
    password: str
    process: subprocess.Popen
    user: str = "bilstm"

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database `name`; returns its URL."""
        subprocess.run(
            [self.bindir / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name],
            env=dict(os.environ, PGPASSWORD=self.password), check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return self.url(name)

    def stop(self) -> None:
        """A fast shutdown (SIGINT: clients disconnected, no wait for them), then the folder removed."""
        stop_group(self.process, signals=(signal.SIGINT,))
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres(bindir: Path, timeout: float = 60) -> PostgresCluster:
    """`initdb` and `postgres` from `bindir` on a temporary folder and a free loopback port; password
    authentication, no Unix socket. As root, both run as the `postgres` account (they refuse root) in a
    folder it owns; otherwise as the current user. Returns once the server accepts connections."""
    folder = Path(tempfile.mkdtemp(prefix="bilstm-postgres-"))
    password = secrets.token_hex(16)
    password_file = folder / "password"
    password_file.write_text(password)
    as_owner: dict = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for path in (folder, password_file):
            os.chown(path, account.pw_uid, account.pw_gid)
        as_owner = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    subprocess.run(
        [bindir / "initdb", "-D", folder / "data", "-U", "bilstm", "--pwfile", password_file,
         "--auth", "scram-sha-256", "--encoding", "UTF8", "--no-sync"],
        cwd=folder, check=True, capture_output=True, timeout=120, **as_owner,
    )  # fmt: skip
    password_file.unlink()
    port = free_port()
    settings = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off"]
    with open(folder / "postgres.log", "a") as log:
        process = subprocess.Popen(
            [bindir / "postgres", "-D", folder / "data", "-p", str(port), *settings], cwd=folder,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **as_owner,
        )  # fmt: skip
    cluster = PostgresCluster(bindir, folder, port, password, process)
    deadline = time.monotonic() + timeout
    ready = [bindir / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]
    while subprocess.run(ready, timeout=30).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            log_tail = (folder / "postgres.log").read_text()[-2000:]
            cluster.stop()
            raise RuntimeError(f"PostgreSQL on port {port} did not start:\n{log_tail}")
        time.sleep(0.2)
    return cluster


@dataclass
class DaskCluster:
    """A running `dask scheduler` at `address` and its `dask worker` processes (no nanny: each worker is the
    process started here, so its PID is the one a fold reports)."""

    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]

    def worker_pids(self) -> dict[str, int]:
        """Each worker's PID by its address on the scheduler."""
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            return client.run(os.getpid)

    def stop(self) -> None:
        for process in reversed([self.scheduler, *self.workers]):
            stop_group(process)


def start_dask_cluster(
    folder, workers: int = 2, env: dict[str, str] | None = None, timeout: float = 120
) -> DaskCluster:
    """`dask scheduler` on a free loopback port and `workers` single-threaded `dask worker` processes that
    preload the fold task, as the docs' --dask-address route starts them, with `env` (default: this
    process's), logging to `folder`/dask.log; returns once every worker has joined. Stop it with
    `DaskCluster.stop`."""
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler_command = [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    worker_command = [dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
    worker_command += ["--preload", "tasks.fold"]
    with open(Path(folder) / "dask.log", "a") as log:
        # a worker retries its connection until the scheduler listens
        started = [
            subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            for command in [scheduler_command] + [worker_command] * workers
        ]
    cluster = DaskCluster(address, started[0], started[1:])
    try:
        with Client(address, timeout=timeout) as client:
            client.wait_for_workers(workers, timeout=timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster
