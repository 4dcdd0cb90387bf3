"""MLflow past one machine: `mlflow server` on a real PostgreSQL database, serving the artifacts itself, and
"machines" (separate working directories, separate PREFECT_HOMEs and checkpoint homes, no shared files)
reaching MLflow only through that server: one trains and registers, another forecasts with its champion; two
retrain at once and one consistent champion comes out; a training outlives a restart of the server. One
server for the module, each test under a model name of its own."""

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.artifacts import list_artifacts

from deployments.processes import free_port, stop_group
from tests.helpers import BILSTM, synthetic_frame, tiny_args
from tests.servers import PostgresCluster, start_proxied_mlflow_server

NAME = "bilstm-forecaster"
LOCK_SUFFIX = ".promotion-lock"
EPOCHS = 80  # the restarted server's training: a few seconds of epochs, each logged to the server


@dataclass
class ProxiedServer:
    """`mlflow server` on `port` over the database `mlflow` of `postgres`, its artifacts in `folder`."""

    postgres: PostgresCluster
    folder: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> str:
        return self.postgres.url("mlflow", driver="postgresql+psycopg")  # SQLAlchemy's name for psycopg 3

    def start(self) -> None:
        """On the same port and database each time: a restart, for the clients."""
        self.process = start_proxied_mlflow_server(self.folder, self.port, self.database)

    def stop(self) -> None:
        stop_group(self.process)

    def query(self, sql: str, *parameters) -> list[tuple]:
        """Rows straight from the server's PostgreSQL database."""
        import psycopg  # the `cluster` extra; imported here so that `-m "not slow"` collects without it

        with psycopg.connect(self.postgres.url("mlflow")) as connection:
            return connection.execute(sql, parameters).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory, postgres, prefect_server):
    postgres.create_database("mlflow")
    running = ProxiedServer(postgres, tmp_path_factory.mktemp("server"), free_port())
    running.start()
    yield running
    running.stop()
    assert postgres.password not in (running.folder / "mlflow-server.log").read_text()


def machine(folder: Path, tracking_uri: str) -> dict[str, str]:
    """The environment of a `bilstm` command on a machine whose only state is `folder`: its own Prefect home
    and checkpoint home there, the test Prefect server's API, and the MLflow server as tracking URI."""
    from prefect.settings import PREFECT_API_URL

    folder.mkdir()
    synthetic_frame().to_csv(folder / "series.csv", index=False)
    return dict(
        os.environ,
        PREFECT_HOME=str(folder / "prefect-home"),
        PREFECT_API_URL=PREFECT_API_URL.value(),
        BILSTM_HOME=str(folder / "bilstm-home"),
        BILSTM_MALLOC_TUNING="0",
        MLFLOW_TRACKING_URI=tracking_uri,
    )


def start(folder: Path, env: dict, *args: str) -> subprocess.Popen:
    """Start `bilstm *args --json` in `folder`, its stdout and stderr to `folder`/bilstm.log."""
    with open(folder / "bilstm.log", "w") as log:
        return subprocess.Popen(
            [BILSTM, *args, "--json"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def finish(process: subprocess.Popen, folder: Path) -> dict:
    """Wait for a `start`ed command; asserts it exits 0; its JSON summary (last line) and whole output."""
    process.wait(timeout=600)
    output = (folder / "bilstm.log").read_text()
    assert process.returncode == 0, output[-3000:]
    return {"summary": json.loads(output.strip().splitlines()[-1]), "output": output}


def bilstm(folder: Path, env: dict, *args: str) -> dict:
    """Run `bilstm *args --json` in `folder`; asserts it exits 0; its JSON summary and whole output."""
    return finish(start(folder, env, *args), folder)


def test_a_model_trained_on_one_machine_is_registered_in_postgresql_and_forecasts_on_another(
    tmp_path, server
):
    trainer, forecaster = tmp_path / "machine-a", tmp_path / "machine-b"
    trainer_env, forecaster_env = machine(trainer, server.uri), machine(forecaster, server.uri)

    trained = bilstm(trainer, trainer_env, "train", "--data", "series.csv", *tiny_args(2))
    forecast = bilstm(forecaster, forecaster_env, "forecast", "--data", "series.csv", "--output", "f.csv")

    version = trained["summary"]["model_version"]
    assert trained["summary"]["promoted"]
    assert forecast["summary"]["rows"] == 12 and (forecaster / "f.csv").is_file()
    for folder in (trainer, forecaster):  # MLflow reached through the server only
        assert [p for p in folder.rglob("*") if p.name in ("mlruns", "mlflow.db")] == []
    client = MlflowClient(server.uri, registry_uri=server.uri)
    champion = client.get_model_version_by_alias(NAME, "champion")
    assert (champion.version, champion.run_id) == (version, trained["summary"]["run_id"])
    served = client.get_model_version_download_uri(NAME, version)
    assert served.startswith("mlflow-artifacts:/")  # the server's store, not a path on a client
    assert client.get_run(forecast["summary"]["run_id"]).info.status == "FINISHED"
    rows = server.query("SELECT name, version, run_id FROM model_versions WHERE name = %s", NAME)
    assert rows == [(NAME, int(version), trained["summary"]["run_id"])]
    stored = {p.name for p in (server.folder / "artifacts").rglob("*") if p.is_file()}
    assert {"MLmodel", "metrics_by_horizon.csv"} <= stored
    assert "f.csv" in stored  # the forecast run's table, logged through the server too
    for command in (trained, forecast):
        assert server.postgres.password not in command["output"]


def expected_champion(client: MlflowClient, summaries: list[dict]) -> str | None:
    """What the gate makes champion of these runs' versions, on one data set and split (a champion re-scored
    on a challenger's test windows scores its own run's test MSE): the lowest test MSE among the versions
    that beat persistence and seasonal naive; None if none does."""
    metrics = {s["model_version"]: client.get_run(s["run_id"]).data.metrics for s in summaries}
    winners = {
        version: m["test_mse_scaled"]
        for version, m in metrics.items()
        if m["test_mse_scaled"] < min(m["naive_test_mse_scaled"], m["seasonal_naive_test_mse_scaled"])
    }
    return min(winners, key=winners.get) if winners else None


def test_two_retrains_at_once_on_two_machines_register_both_and_one_consistent_champion(tmp_path, server):
    name = "concurrent-forecaster"
    folders = [tmp_path / "machine-a", tmp_path / "machine-b"]
    started = [
        start(folder, machine(folder, server.uri), "train", "--data", "series.csv", *tiny_args(2),
              "--set", f"train.seed={seed}", "--set", f"registry.model_name={name}")
        for seed, folder in enumerate(folders, start=1)
    ]  # fmt: skip
    summaries = [finish(process, folder)["summary"] for process, folder in zip(started, folders, strict=True)]

    rows = server.query("SELECT version, run_id FROM model_versions WHERE name = %s", name)
    assert sorted(rows) == sorted((int(s["model_version"]), s["run_id"]) for s in summaries)
    client = MlflowClient(server.uri, registry_uri=server.uri)
    expected = expected_champion(client, summaries)
    assert expected is not None, "neither retrain beat the baselines: nothing to check the lock on"
    champions = server.query(
        "SELECT version FROM registered_model_aliases WHERE name = %s AND alias = 'champion'", name
    )
    assert champions == [(int(expected),)]
    locks = server.query("SELECT name FROM registered_models WHERE name LIKE %s", f"%{LOCK_SUFFIX}")
    assert locks == []  # released by both: no promotion lock left in PostgreSQL


def wait_for_rows(server: ProxiedServer, sql: str, *parameters, timeout: float = 300) -> list[tuple]:
    """Poll the database until `sql` returns rows; those rows."""
    deadline = time.monotonic() + timeout
    while not (rows := server.query(sql, *parameters)):
        assert time.monotonic() < deadline, f"no rows for {sql} within {timeout} s"
        time.sleep(0.2)
    return rows


def test_a_training_outlives_a_restart_of_the_mlflow_server_or_fails_without_a_half_registered_version(
    tmp_path, server
):
    name, experiment = "restarted-forecaster", "restart"
    folder = tmp_path / "machine-a"
    # MLflow's own HTTP retries carry the run across the restart; with this factor (an integer, 2 by default)
    # they come after 1, 2, 4, 8 ... s, plus up to 1 s of jitter
    env = machine(folder, server.uri) | {"MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    training = start(
        folder, env, "train", "--data", "series.csv", *tiny_args(EPOCHS), "--set", f"train.patience={EPOCHS}",
        "--set", f"registry.model_name={name}", "--set", f"registry.experiment={experiment}",
    )  # fmt: skip
    [(run_id,)] = wait_for_rows(
        server,
        "SELECT r.run_uuid FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id"
        " JOIN metrics m ON m.run_uuid = r.run_uuid"
        " WHERE e.name = %s AND r.status = 'RUNNING' AND m.key = 'train_loss' GROUP BY r.run_uuid",
        experiment,
    )  # training: its first epoch's loss is in

    stopped_ms = time.time() * 1000
    server.stop()
    time.sleep(2)  # the server stays away for a while: the scenario, not a wait for a condition
    server.start()
    training.wait(timeout=600)

    output = (folder / "bilstm.log").read_text()
    client = MlflowClient(server.uri, registry_uri=server.uri)
    status = client.get_run(run_id).info.status
    versions = client.search_model_versions(f"name='{name}'")
    for version in versions:  # no version without its model files, which the server holds
        files = list_artifacts(
            client.get_model_version_download_uri(name, version.version), tracking_uri=server.uri
        )
        assert version.run_id == run_id and "MLmodel" in [Path(f.path).name for f in files], version
    if training.returncode == 0:
        summary = json.loads(output.strip().splitlines()[-1])
        assert status == "FINISHED" and [v.version for v in versions] == [summary["model_version"]]
        losses = client.get_metric_history(run_id, "train_loss")
        assert summary["epochs_run"] == len(losses) == EPOCHS  # every epoch trained and logged, none lost
        assert max(loss.timestamp for loss in losses) > stopped_ms  # the server was lost mid-training
    else:  # failed cleanly: the run says so, and nothing became champion
        assert status == "FAILED", output[-3000:]
        champion = "SELECT version FROM registered_model_aliases WHERE name = %s AND alias = 'champion'"
        assert server.query(champion, name) == []
    assert server.postgres.password not in output
