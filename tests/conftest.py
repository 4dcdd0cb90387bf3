"""Shared fixtures: a learnable synthetic series, the real config shrunk to a tiny one, a tiny model trained
on one series or many (`trained_on`), isolated Prefect
and MLflow state (a real Prefect test server, a real SQLite MLflow store in a tmp dir), a throwaway PostgreSQL
cluster."""

from __future__ import annotations

import os
import subprocess
import tempfile

import pytest

# Isolate Prefect before it is imported anywhere: its home, telemetry and the slow-CI start-up timeout.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bilstm-prefect-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from bilstm.config import PipelineConfig  # noqa: E402
from tests.helpers import BILSTM, synthetic_frame, tiny, write_shaped  # noqa: E402


@pytest.fixture(autouse=True)
def no_inherited_experiment():
    """Each test starts without MLFLOW_EXPERIMENT_ID: `mlflow.set_experiment` writes it into this process's
    environment, and a command an earlier test's flow left it for would look for that experiment's id in
    its own, other store."""
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


@pytest.fixture(scope="session")
def history_csv(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("history") / "series.csv"
    synthetic_frame().to_csv(path, index=False)
    return str(path)


@pytest.fixture
def synthetic_csv(tmp_path) -> str:
    path = tmp_path / "series.csv"
    synthetic_frame().to_csv(path, index=False)
    return str(path)


@pytest.fixture
def tiny_config(synthetic_csv) -> PipelineConfig:
    return tiny(**{"data.path": synthetic_csv, "data.time_column": "timestamp", "data.targets": ["y"]})


@pytest.fixture(scope="session")
def trained_on(tmp_path_factory):
    """`trained_on(shape)`: a tiny model trained 2 epochs on `write_shaped`'s table of that shape, once a
    session, and the data prepared as it was trained: (forecaster, prepared)."""
    from bilstm.data import load_table  # torch: only for the tests that train
    from bilstm.defaults import resolve
    from bilstm.pipeline import fit_forecaster, make_train_windows, new_forecaster, split_and_scale

    trained = {}

    def train(shape: str):
        if shape not in trained:
            config = write_shaped(tmp_path_factory.mktemp(shape), shape, **{"train.epochs": 2})
            series = load_table(config.data)
            config = resolve(config, series).config
            prepared = split_and_scale(series, config)
            forecaster = new_forecaster(prepared, config)
            fit_forecaster(forecaster, make_train_windows(prepared, config), config, progress=False)
            trained[shape] = forecaster, prepared
        return trained[shape]

    return train


def pytest_collection_modifyitems(items):
    """A test that needs the Prefect server (directly or through `tracking`, `bilstm`, ...) is `slow`: the
    fast loop, `pytest -m "not slow"`, runs the core's tests alone."""
    for item in items:
        if "prefect_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def prefect_server():
    """One real Prefect API (temporary SQLite database) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL cluster (initdb'd in a temp folder, a free loopback port, a random password)
    for the whole session, stopped by PID at the end; tests create their own databases in it."""
    from tests.servers import postgres_bindir, start_postgres

    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server (initdb) here: install Debian's `postgresql`, as .ci/run does")
    cluster = start_postgres(bindir)
    yield cluster
    cluster.stop()


@pytest.fixture
def tracking(tmp_path, monkeypatch, prefect_server) -> str:
    """A fresh MLflow SQLite store and checkpoint home for one test; returns the tracking URI."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # flows set MLflow's process-wide URIs; an earlier test's store must not stay the default registry
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    monkeypatch.setenv("BILSTM_HOME", str(tmp_path / "bilstm-home"))
    monkeypatch.chdir(tmp_path)
    return uri


@pytest.fixture
def bilstm(tracking, tmp_path):
    """Run the installed `bilstm` command against the test Prefect server and the tmp MLflow store."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value())

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [BILSTM, *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600
        )

    return run


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A SQLite MLflow store in a tmp dir as MLFLOW_TRACKING_URI, without a Prefect server; MLflow's global
    URIs restored after. Returns the tracking URI."""
    import mlflow

    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    yield uri
    mlflow.set_tracking_uri(before[0])
    mlflow.set_registry_uri(before[1])
