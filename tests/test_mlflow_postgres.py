"""MLflow past one machine: `mlflow server` on a real PostgreSQL database, serving the artifacts itself, and
two "machines" (separate working directories, separate PREFECT_HOMEs and checkpoint homes, no shared files)
reaching MLflow only through that server: one trains and registers, the other forecasts with its champion."""

import json
import os
import subprocess
from pathlib import Path

from mlflow import MlflowClient

from deployments.processes import free_port, stop_group
from tests.helpers import BILSTM, synthetic_frame, tiny_args
from tests.servers import start_proxied_mlflow_server

NAME = "bilstm-forecaster"


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


def bilstm(folder: Path, env: dict, *args: str) -> dict:
    """Run `bilstm *args --json` in `folder`; asserts it exits 0; its JSON summary and whole output."""
    done = subprocess.run(
        [BILSTM, *args, "--json"], cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return {"summary": json.loads(done.stdout.strip().splitlines()[-1]), "output": done.stdout + done.stderr}


def test_a_model_trained_on_one_machine_is_registered_in_postgresql_and_forecasts_on_another(
    tmp_path, postgres, prefect_server
):
    postgres.create_database("mlflow")
    database = postgres.url("mlflow", driver="postgresql+psycopg")  # SQLAlchemy's name for psycopg 3
    server_side = tmp_path / "server"
    server_side.mkdir()
    port = free_port()
    server = start_proxied_mlflow_server(server_side, port, database)
    try:
        uri = f"http://127.0.0.1:{port}"
        trainer, forecaster = tmp_path / "machine-a", tmp_path / "machine-b"
        trainer_env, forecaster_env = machine(trainer, uri), machine(forecaster, uri)

        trained = bilstm(trainer, trainer_env, "train", "--data", "series.csv", *tiny_args(2))
        forecast = bilstm(forecaster, forecaster_env, "forecast", "--data", "series.csv", "--output", "f.csv")

        version = trained["summary"]["model_version"]
        assert trained["summary"]["promoted"]
        assert forecast["summary"]["rows"] == 12 and (forecaster / "f.csv").is_file()
        for folder in (trainer, forecaster):  # MLflow reached through the server only
            assert [p for p in folder.rglob("*") if p.name in ("mlruns", "mlflow.db")] == []
        client = MlflowClient(uri, registry_uri=uri)
        champion = client.get_model_version_by_alias(NAME, "champion")
        assert (champion.version, champion.run_id) == (version, trained["summary"]["run_id"])
        served = client.get_model_version_download_uri(NAME, version)
        assert served.startswith("mlflow-artifacts:/")  # the server's store, not a path on a client
        assert client.get_run(forecast["summary"]["run_id"]).info.status == "FINISHED"

        import psycopg  # the `cluster` extra; imported here so that `-m "not slow"` collects without it

        with psycopg.connect(postgres.url("mlflow")) as connection:
            rows = connection.execute("SELECT name, version, run_id FROM model_versions").fetchall()
        assert rows == [(NAME, int(version), trained["summary"]["run_id"])]
        stored = {p.name for p in (server_side / "artifacts").rglob("*") if p.is_file()}
        assert {"MLmodel", "metrics_by_horizon.csv"} <= stored
        assert "f.csv" in stored  # the forecast run's table, logged through the server too
        for command in (trained, forecast):
            assert postgres.password not in command["output"]
    finally:
        stop_group(server)
    assert postgres.password not in (server_side / "mlflow-server.log").read_text()
