"""`kill -9` of `bilstm backtest` after its first fold finished, then the same command again: the killed
run's MLflow run and Prefect flow run are ended, the finished fold is taken over, not retrained."""

import json
import os
import signal
import subprocess
import time

from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from tests.helpers import BILSTM, synthetic_frame, tiny_args, write_table

FOLDS = ["--folds", "3", "--step", "100", "--json"]


def finished_folds(client: MlflowClient) -> list:
    experiment = client.get_experiment_by_name("bilstm-forecaster")
    if experiment is None:
        return []
    return client.search_runs(
        [experiment.experiment_id], "attributes.status = 'FINISHED' and tags.`backtest.fold` != ''"
    )


def fold_training(client: MlflowClient, fold_run) -> bool:
    """Does a fold's task run of the flow run behind `fold_run`'s parent run show RUNNING?"""
    flow_run_id = client.get_run(fold_run.data.tags["mlflow.parentRunId"]).data.tags["prefect.flow_run_id"]
    with get_client(sync_client=True) as prefect:
        of_flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        task_runs = prefect.read_task_runs(flow_run_filter=of_flow_run)
    return any(run.name.startswith("fold-") and run.state.is_running() for run in task_runs)


def test_a_killed_backtest_is_ended_by_its_rerun_which_reuses_the_finished_fold(tracking, tmp_path):
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value())
    data = write_table(tmp_path, synthetic_frame())
    command = [BILSTM, "backtest", "--data", data, *tiny_args(8, "--set", "train.patience=8"), *FOLDS]
    client = MlflowClient(tracking)
    killed = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    # killed once a fold has finished and the next one trains (its task run RUNNING)
    while not (done := finished_folds(client)) or not fold_training(client, done[0]):
        assert killed.poll() is None, "the backtest ended before it could be killed"
        assert time.monotonic() < deadline, "no fold finished within 300 s"
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    done = finished_folds(client)
    assert 1 <= len(done) < 3
    stale = client.get_run(done[0].data.tags["mlflow.parentRunId"])
    assert stale.info.status == "RUNNING"

    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    reused = sorted(int(run.data.tags["backtest.fold"]) for run in done)
    assert f"reusing folds {', '.join(map(str, reused))}" in rerun.stdout + rerun.stderr
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert [fold["fold"] for fold in summary["folds"]] == [0, 1, 2]
    stale = client.get_run(stale.info.run_id)
    assert stale.info.status == "KILLED" and stale.data.tags["resumed_by_run"] == summary["run_id"]
    for run in done:  # the finished fold's run, nested under the re-run now, with the same row
        adopted = client.get_run(run.info.run_id)
        assert adopted.data.tags["mlflow.parentRunId"] == summary["run_id"]
        row = next(f for f in summary["folds"] if f["fold"] == int(run.data.tags["backtest.fold"]))
        assert row == json.loads(run.data.tags["backtest.row"])
    children = finished_folds(client)
    assert sorted(int(run.data.tags["backtest.fold"]) for run in children) == [0, 1, 2]  # none twice
    experiment = client.get_experiment_by_name("bilstm-forecaster").experiment_id
    assert not client.search_runs([experiment], "attributes.status = 'RUNNING'")
    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(stale.data.tags["prefect.flow_run_id"])
        of_flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        task_runs = prefect.read_task_runs(flow_run_filter=of_flow_run)
    assert flow_run.state.type.value == "CRASHED"
    # the fold that was training at the kill may still have ended in the moment before it: either way no
    # fold's task run is left running
    fold_states = {run.state.type.value for run in task_runs if run.name.startswith("fold-")}
    assert fold_states <= {"CRASHED", "COMPLETED"}
    assert all(run.state.is_final() for run in task_runs)
