"""The work-pool route for teams: `prefect deploy --prefect-file deployments/prefect.yaml --all` creates the
deployments and the retrain trigger's automation (as the dashboard does), and a process worker runs the
`train` deployment, against a real `prefect server` (started and stopped by PID). The triggered retrain
itself runs in tests/test_dashboard.py: the automation and its run-deployment action are the same."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from deployments.processes import free_port, stop_group
from deployments.serve import PREFECT_YAML
from tests.helpers import assert_shipped_trigger
from tests.servers import start_prefect_server
from tests.test_dashboard import tiny_parameters

pytestmark = pytest.mark.slow  # starts a Prefect server, a work pool and a worker

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_deploy_creates_the_retrain_trigger_and_a_process_worker_runs_train(tmp_path, history_csv):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = dict(
        os.environ,
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_API_URL=api,
        PREFECT_WORKER_QUERY_SECONDS="2",
        MLFLOW_TRACKING_URI=tracking,
        BILSTM_HOME=str(tmp_path / "bilstm-home"),
    )
    server = start_prefect_server(tmp_path, port)
    with open(tmp_path / "worker.log", "w") as worker_log:
        worker = None
        try:
            prefect = [str(BIN / "prefect")]
            subprocess.run(
                [*prefect, "work-pool", "create", "local-process", "--type", "process"], env=env, check=True
            )
            deploy = [
                *prefect,
                "--no-prompt",
                "deploy",
                "--prefect-file",
                "deployments/prefect.yaml",
                "--all",
            ]
            subprocess.run(deploy, env=env, cwd=ROOT, check=True, capture_output=True)
            worker = subprocess.Popen(
                [*prefect, "worker", "start", "--pool", "local-process"],
                env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            with temporary_settings({PREFECT_API_URL: api}):
                with get_client(sync_client=True) as client:
                    names = {d.name for d in client.read_deployments()}
                    pools = {d.work_pool_name for d in client.read_deployments()}
                    retrain = client.read_deployment_by_name("retrain/retrain-on-degradation")
                    assert_shipped_trigger(client, retrain.id)
                run = run_deployment(
                    "train/train", parameters=tiny_parameters(history_csv), timeout=600, poll_interval=1
                )
        finally:
            if worker is not None:
                stop_group(worker)
            stop_group(server)
    shipped = {entry["name"] for entry in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}
    assert names == shipped and pools == {"local-process"}
    assert run.state.is_completed(), (tmp_path / "worker.log").read_text()[-3000:]
    runs = MlflowClient(tracking, registry_uri=tracking).search_runs(
        [
            MlflowClient(tracking, registry_uri=tracking)
            .get_experiment_by_name("bilstm-forecaster")
            .experiment_id
        ]
    )
    assert [r.data.tags["prefect.flow_run_id"] for r in runs] == [str(run.id)]
