"""`bilstm train` against a real `mlflow server` on a free loopback port: a server that is down at the start
or lost before registration, two retrains at once, and a tracking URI with a password that must not leak."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient

from deployments.processes import free_port, stop_group
from tests.helpers import BILSTM, flow_run_states, tiny_args
from tests.servers import start_mlflow_server

NAME = "bilstm-forecaster"
SECRET = "s3cr3t-Pa55"
TINY = tiny_args(3, "--json")


def command_env(folder: Path) -> dict[str, str]:
    """The environment of a `bilstm` run: the test Prefect server, a checkpoint home in `folder`."""
    from prefect.settings import PREFECT_API_URL

    return dict(
        os.environ,
        PREFECT_API_URL=PREFECT_API_URL.value(),
        BILSTM_HOME=str(folder / "bilstm-home"),
        BILSTM_MALLOC_TUNING="0",
        PYTHONUNBUFFERED="1",
    )


@pytest.fixture
def env(tmp_path, prefect_server) -> dict[str, str]:
    return command_env(tmp_path)


@dataclass
class Server:
    folder: Path
    port: int
    process: subprocess.Popen

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def restart(self) -> None:
        """On the same port, over the same store."""
        self.process = start_mlflow_server(self.folder, self.port)


@pytest.fixture
def server(tmp_path):
    """A real MLflow tracking server over a SQLite store and a file artifact root in tmp_path."""
    port = free_port()
    running = Server(tmp_path, port, start_mlflow_server(tmp_path, port))
    yield running
    stop_group(running.process)


@dataclass
class Trained:
    """A `bilstm train` that ended on `server`: its process (for its output) and its JSON summary."""

    server: Server
    process: subprocess.Popen
    summary: dict


@pytest.fixture(scope="module")
def champion_on_a_server(tmp_path_factory, prefect_server, history_csv):
    """A real MLflow tracking server whose first version, now champion, was trained with a password in the
    tracking URI: the run the password test searches, and the champion that the lost server must keep (one
    server start and one training for the two tests)."""
    folder = tmp_path_factory.mktemp("tracking-server")
    port = free_port()
    running = Server(folder, port, start_mlflow_server(folder, port))
    env = command_env(folder) | {"MLFLOW_TRACKING_URI": f"http://alice:{SECRET}@127.0.0.1:{port}"}
    process = train(env, history_csv, cwd=folder)
    yield Trained(running, process, summary(process))
    stop_group(running.process)


def train(env: dict, csv: str, *args: str, cwd) -> subprocess.Popen:
    """Start `bilstm train`; its stdout and stderr go together to `cwd`/train-<pid>.log."""
    log = open(cwd / f"train-{time.monotonic_ns()}.log", "w")  # noqa: SIM115 - outlives this call
    process = subprocess.Popen(
        [BILSTM, "train", "--data", csv, *TINY, *args], cwd=cwd, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    process.log_path = log.name
    return process


def output(process: subprocess.Popen) -> str:
    with open(process.log_path) as log:
        return log.read()


def wait_for_line(process: subprocess.Popen, pattern: str, timeout: float = 300) -> None:
    """Until a line of the process's output matches the regex `pattern`."""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, output(process)):
        assert process.poll() is None, f"ended before {pattern!r}:\n{output(process)[-3000:]}"
        assert time.monotonic() < deadline, f"no {pattern!r} within {timeout} s"
        time.sleep(0.05)


def summary(process: subprocess.Popen) -> dict:
    assert process.wait(timeout=600) == 0, output(process)[-3000:]
    return json.loads(output(process).strip().splitlines()[-1])


def test_a_tracking_server_down_at_the_start_is_retried_then_named_without_its_password(
    synthetic_csv, env, tmp_path
):
    port = free_port()  # nothing listens on it
    env |= {
        "MLFLOW_TRACKING_URI": f"http://alice:{SECRET}@127.0.0.1:{port}",
        "BILSTM_TRACKING_RETRY_DELAYS": "0.1,0.2",
    }
    flow_runs_before = flow_run_states()

    process = train(env, synthetic_csv, cwd=tmp_path)

    assert process.wait(timeout=300) == 3
    log = output(process)
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(
        f"error: MLflow tracking server http://127.0.0.1:{port} is unreachable ("
    )
    assert errors[0].endswith("after 3 tries; start it, or point MLFLOW_TRACKING_URI at a running one")
    assert log.count(f"MLflow tracking server http://127.0.0.1:{port} unreachable") == 3  # one per try
    assert SECRET not in log
    new = [state for run, state in flow_run_states().items() if run not in flow_runs_before]
    assert new == ["FAILED"]


def test_a_server_lost_before_registration_leaves_the_champion_and_the_run_ends_failed(
    history_csv, env, tmp_path, champion_on_a_server
):
    server, first = champion_on_a_server.server, champion_on_a_server.summary
    assert first["promoted"]
    # MLflow's own HTTP retries would wait minutes per request; the registry tasks' retries still apply
    env |= {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "BILSTM_TRACKING_RETRY_DELAYS": "2,4,8,16,32,64"}
    # with a password in the URI: MLflow's connection errors name the URL they failed on
    env["MLFLOW_TRACKING_URI"] = f"http://alice:{SECRET}@127.0.0.1:{server.port}"
    second = train(env, history_csv, "--set", "train.seed=1", cwd=tmp_path)
    wait_for_line(second, r"Task run 'evaluate-\w+' - Finished in state Completed")  # next: register
    server.kill()

    wait_for_line(second, "not marked FAILED yet")  # registration failed for good; the run is unfinished
    server.restart()
    assert second.wait(timeout=300) == 1
    log = output(second)
    assert re.search(r"Task run 'register_model-\w+' - Task run failed .* Retry 1/2", log)  # retried
    assert SECRET not in log
    client = MlflowClient(server.uri, registry_uri=server.uri)
    assert client.get_model_version_by_alias(NAME, "champion").version == first["model_version"]
    experiment = client.get_experiment_by_name(NAME)
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.status for r in runs if r.info.run_id != first["run_id"]) == ["FAILED"]


def test_two_retrains_at_once_register_both_and_the_better_one_ends_champion(
    synthetic_csv, env, tmp_path, server
):
    env["MLFLOW_TRACKING_URI"] = server.uri
    started = [train(env, synthetic_csv, "--set", f"train.seed={seed}", cwd=tmp_path) for seed in (1, 2)]
    summaries = [summary(process) for process in started]

    client = MlflowClient(server.uri, registry_uri=server.uri)
    versions = client.search_model_versions(f"name='{NAME}'")
    assert sorted((str(v.version), v.run_id) for v in versions) == sorted(
        (s["model_version"], s["run_id"]) for s in summaries
    )
    mse = {s["model_version"]: client.get_run(s["run_id"]).data.metrics["test_mse_scaled"] for s in summaries}
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == min(mse, key=mse.get)
    assert [m.name for m in client.search_registered_models()] == [NAME]  # no promotion lock left behind


def test_a_password_in_the_tracking_uri_is_in_no_param_tag_artifact_or_log(champion_on_a_server, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    server, process, result = (
        champion_on_a_server.server,
        champion_on_a_server.process,
        champion_on_a_server.summary,
    )

    assert result["run_url"].startswith(f"{server.uri}/#/experiments/")
    assert SECRET not in output(process)  # stdout and stderr: the flow's log lines and the JSON summary
    client = MlflowClient(server.uri, registry_uri=server.uri)
    run = client.get_run(result["run_id"])
    assert not [kv for kv in {**run.data.params, **run.data.tags}.items() if SECRET in str(kv)]
    version = client.get_model_version(NAME, result["model_version"])
    logged = client.search_logged_models([run.info.experiment_id], f"source_run_id='{run.info.run_id}'")
    assert logged and SECRET not in str(version.tags) + str([(m.tags, m.params) for m in logged])
    downloaded = tmp_path / "downloaded"
    client.download_artifacts(run.info.run_id, "", str(downloaded / "run"))
    model_files = client.get_model_version_download_uri(NAME, version.version).removeprefix("file://")
    shutil.copytree(model_files, downloaded / "model")  # the file artifact root, read as the server does
    files = [p for p in downloaded.rglob("*") if p.is_file()]
    assert any(p.name == "metrics_by_horizon.csv" for p in files) and any(p.name == "MLmodel" for p in files)
    assert [p for p in files if SECRET.encode() in p.read_bytes()] == []
    with get_client(sync_client=True) as prefect:
        flow_run = LogFilterFlowRunId(any_=[result["flow_run_id"]])
        logs = prefect.read_logs(log_filter=LogFilter(flow_run_id=flow_run))
    assert logs and not [log.message for log in logs if SECRET in log.message]
