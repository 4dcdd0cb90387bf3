"""Prefect past one machine: `prefect server` on a real PostgreSQL database; the shipped deployments
registered with `prefect deploy` to a process work pool, their code pulled by a `git_clone` step from a
repository (a local bare clone of this checkout's HEAD stands in for the team's remote); two workers in
directories of their own (own PREFECT_HOME and checkpoint home, no file shared with the server) that each run
a `train` triggered from the API, tracked by an MLflow server on PostgreSQL with proxied artifacts."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from deployments.processes import free_port, stop_group
from deployments.serve import PREFECT_YAML
from tests.helpers import synthetic_frame
from tests.servers import start_prefect_server, start_proxied_mlflow_server
from tests.test_dashboard import tiny_parameters

pytestmark = pytest.mark.slow  # starts PostgreSQL, a Prefect server, an MLflow server and two workers

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).parent / "prefect")
POOL = "local-process"  # the shipped prefect.yaml's work pool
NAME = "bilstm-forecaster"
WORKERS = ("worker-a", "worker-b")


def bare_repository(folder: Path) -> str:
    """A bare clone of this checkout's HEAD in `folder`, standing for the team's remote; its file:// URL."""
    if subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("the git_clone route needs this checkout to be a git repository")
    repository = folder / "bilstm-pipeline.git"
    subprocess.run(["git", "clone", "--bare", "--quiet", ROOT, repository], check=True, timeout=120)
    return repository.as_uri()


def git_route_prefect_file(folder: Path, repository: str) -> Path:
    """The shipped prefect.yaml with its `pull` section replaced by a `git_clone` of `repository` (the one
    edit the scale-out page's recipe makes for workers without a shared checkout), written to `folder`."""
    config = yaml.safe_load(PREFECT_YAML.read_text())
    config["pull"] = [{"prefect.deployments.steps.git_clone": {"repository": repository}}]
    path = folder / "prefect.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def eventually(check, what: str, processes: dict[str, subprocess.Popen], timeout: float = 600):
    """`check()`'s first truthy result, polled each second; fails naming `what` after `timeout` seconds or as
    soon as one of `processes` (name -> process) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exited = [name for name, process in processes.items() if process.poll() is not None]
        assert not exited, f"{exited} exited while waiting for {what}"
        if result := check():
            return result
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_remote_workers_run_train_from_git_on_a_prefect_server_on_postgresql(tmp_path, postgres):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    postgres.create_database("prefect_workers")
    postgres.create_database("mlflow_workers")
    server_side, logs, shared = tmp_path / "server", tmp_path / "logs", tmp_path / "shared"
    for folder in (server_side, logs, shared):
        folder.mkdir()
    data = shared / "series.csv"  # stands for shared storage (an fsspec URI) that every worker reads
    synthetic_frame().to_csv(data, index=False)
    repository = bare_repository(tmp_path)

    prefect_port, mlflow_port = free_port(), free_port()
    api, tracking = f"http://127.0.0.1:{prefect_port}/api", f"http://127.0.0.1:{mlflow_port}"
    processes: dict[str, subprocess.Popen] = {}
    try:
        processes["prefect server"] = start_prefect_server(
            server_side, prefect_port, postgres.url("prefect_workers", driver="postgresql+asyncpg")
        )
        processes["mlflow server"] = start_proxied_mlflow_server(
            server_side, mlflow_port, postgres.url("mlflow_workers", driver="postgresql+psycopg")
        )
        # the machine that deploys needs only the API's address (and the flows' code to read their parameters)
        deployer = dict(os.environ, PREFECT_API_URL=api, PREFECT_HOME=str(tmp_path / "deployer-home"))
        prefect_file = git_route_prefect_file(tmp_path, repository)
        subprocess.run([PREFECT, "work-pool", "create", POOL, "--type", "process"], env=deployer, check=True)
        deployed = subprocess.run(
            [PREFECT, "--no-prompt", "deploy", "--prefect-file", prefect_file, "--all"],
            env=deployer, cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert deployed.returncode == 0, (deployed.stdout + deployed.stderr)[-3000:]
        assert postgres.password not in deployed.stdout + deployed.stderr

        for name in WORKERS:  # each on its own "machine": a folder, the two servers' addresses, nothing else
            home = tmp_path / name
            home.mkdir()
            env = dict(
                os.environ,
                PREFECT_API_URL=api,
                PREFECT_HOME=str(home / "prefect-home"),
                PREFECT_WORKER_QUERY_SECONDS="2",
                BILSTM_HOME=str(home / "bilstm-home"),
                MLFLOW_TRACKING_URI=tracking,
            )
            with open(logs / f"{name}.log", "w") as log:
                processes[name] = subprocess.Popen(
                    [PREFECT, "worker", "start", "--pool", POOL, "--name", name, "--limit", "1"],
                    cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip

        with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
            pull_steps = {str(d.pull_steps) for d in client.read_deployments()}

            def workers_polling():
                return {w.name for w in client.read_workers_for_work_pool(POOL)} >= set(WORKERS)

            eventually(workers_polling, "both workers to poll the pool", processes, timeout=120)
            # two runs at once; a worker takes one at a time (--limit 1), so each worker gets one
            runs = [
                run_deployment("train/train", parameters=tiny_parameters(str(data)), timeout=0)
                for _ in WORKERS
            ]

            def finished():
                now = [client.read_flow_run(run.id) for run in runs]
                return now if all(run.state.is_final() for run in now) else None

            runs = eventually(finished, "both train runs to finish", processes)

        assert pull_steps == {str([{"prefect.deployments.steps.git_clone": {"repository": repository}}])}
        worker_logs = {name: (logs / f"{name}.log").read_text() for name in WORKERS}
        assert [run.state.type.value for run in runs] == ["COMPLETED"] * 2, worker_logs
        assert sorted(run.labels["prefect.worker.name"] for run in runs) == sorted(WORKERS)
        assert all("git_clone" in text for text in worker_logs.values())  # each ran the pull step itself

        client = MlflowClient(tracking, registry_uri=tracking)
        versions = client.search_model_versions(f"name = '{NAME}'")
        flow_run_ids = {client.get_run(v.run_id).data.tags["prefect.flow_run_id"] for v in versions}
        assert flow_run_ids == {str(run.id) for run in runs}
        champion = client.get_model_version_by_alias(NAME, "champion")
        assert champion.version in {v.version for v in versions}

        import psycopg  # the `cluster` extra; imported here so that `-m "not slow"` collects without it

        with psycopg.connect(postgres.url("mlflow_workers")) as connection:
            registered = connection.execute("SELECT run_id FROM model_versions WHERE name = %s", [NAME])
            registered = registered.fetchall()
        with psycopg.connect(postgres.url("prefect_workers")) as connection:
            stored = connection.execute("SELECT id::text, state_type::text FROM flow_run").fetchall()
        assert sorted(row[0] for row in registered) == sorted(v.run_id for v in versions)
        assert {(str(run.id), "COMPLETED") for run in runs} <= set(stored)
        assert not (server_side / "prefect-home" / "prefect.db").exists()  # no SQLite fallback

        for name in WORKERS:  # MLflow reached through its server only; Prefect's state only in PostgreSQL
            written = {p.name for p in (tmp_path / name).rglob("*")}
            assert not written & {"mlruns", "mlflow.db", "prefect.db"}, (name, written)
    finally:
        for process in reversed(processes.values()):  # the workers first, while their servers answer
            stop_group(process)
    for log in [*logs.iterdir(), *server_side.glob("*.log")]:
        assert postgres.password not in log.read_text(), log.name
