"""Shared fixtures: a learnable synthetic series, the real config shrunk to a tiny one, isolated Prefect
and MLflow state (a real Prefect test server, a real SQLite MLflow store in a tmp dir)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Isolate Prefect before it is imported anywhere: its home, telemetry and the slow-CI start-up timeout.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bilstm-prefect-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from bilstm.config import PipelineConfig, with_overrides  # noqa: E402
from tests.helpers import synthetic_frame  # noqa: E402

BILSTM = str(Path(sys.executable).parent / "bilstm")


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


def tiny(config: PipelineConfig | None = None, **overrides) -> PipelineConfig:
    """The real config, shrunk: 3 epochs of a small network on CPU, short windows."""
    base = {
        "window.lookback": 48,
        "window.horizon": 12,
        "model.hidden_size": 16,
        "model.num_layers": 1,
        "train.epochs": 3,
        "train.batch_size": 64,
        "train.lr": 5e-3,
        "train.device": "cpu",
    }
    return with_overrides(config or PipelineConfig(), base | overrides)


@pytest.fixture
def tiny_config(synthetic_csv) -> PipelineConfig:
    return tiny(**{"data.path": synthetic_csv, "data.time_column": "timestamp", "data.targets": ["y"]})


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


def flow_run_states() -> dict[str, str]:
    """flow-run id -> state type of the latest flow runs on the test Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as prefect:
        latest = prefect.read_flow_runs(sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=50)
    return {str(r.id): r.state.type.value for r in latest}
