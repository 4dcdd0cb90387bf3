"""The backtest flow on the real engines: `bilstm backtest` with its folds on a real two-worker Dask
cluster, a real Prefect server and a real SQLite MLflow store; the folds on a running `dask scheduler` and
`dask worker`; a fold that fails; a scheduler that is not there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from bilstm.errors import BadInputError
from bilstm.folds import BacktestOptions
from deployments.processes import free_port, stop_group
from flows.backtest import backtest_flow
from tests.helpers import synthetic_frame, tiny, tiny_args, write_table

EXPERIMENT = "bilstm-forecaster"


def _runs(client: MlflowClient) -> list:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([experiment.experiment_id]) if experiment else []


def test_backtest_on_two_dask_workers_tracks_a_parent_run_with_a_nested_run_per_fold(
    bilstm, tracking, tmp_path
):
    data = write_table(tmp_path, synthetic_frame())
    args = ["--folds", "3", "--step", "100", "--refit", "2", "--workers", "2", "--json"]
    result = bilstm("backtest", "--data", data, *tiny_args(2), *args)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])

    folds = summary["folds"]
    assert [f["fold"] for f in folds] == [0, 1, 2] and [f["trained_by"] for f in folds] == [0, 0, 2]
    for key in ("test_start", "test_end", "test_mse_scaled", "naive_test_mse_scaled", "coverage_95"):
        assert all(key in fold for fold in folds)
    # the folds ran in the cluster's worker processes, not in the command's
    workers = {fold["worker"] for fold in folds}
    assert all(worker.rsplit(":", 1)[1] != str(os.getpid()) for worker in workers)
    metrics = summary["metrics"]
    assert metrics["mean_test_mse_scaled"] == pytest.approx(sum(f["test_mse_scaled"] for f in folds) / 3)
    assert metrics["mean_test_mse_scaled"] < metrics["mean_naive_test_mse_scaled"]
    assert summary["warnings"] == [] and "WARNING" not in result.stderr

    client = MlflowClient(tracking)
    runs = {run.info.run_id: run for run in _runs(client)}
    parent = runs.pop(summary["run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["bilstm.kind"] == "backtest"
    assert parent.data.params["backtest.workers"] == "2" and parent.data.params["backtest.refit"] == "2"
    assert parent.data.metrics["mean_test_mse_scaled"] == pytest.approx(metrics["mean_test_mse_scaled"])
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "backtest")}
    assert artifacts == {"backtest/folds.csv", "backtest/folds.png"}
    table = pd.read_csv(client.download_artifacts(parent.info.run_id, "backtest/folds.csv"))
    assert table["test_mse_scaled"].tolist() == pytest.approx([f["test_mse_scaled"] for f in folds])

    children = sorted(runs.values(), key=lambda run: int(run.data.tags["backtest.fold"]))
    assert len(children) == 3
    for child, fold in zip(children, folds, strict=True):
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED"
        assert child.data.metrics["test_mse_scaled"] == pytest.approx(fold["test_mse_scaled"])
        epochs = [m.step for m in client.get_metric_history(child.info.run_id, "val_loss")]
        assert epochs == ([0, 1, 2] if fold["trained_by"] == fold["fold"] else [])
        assert "metrics_by_horizon.csv" in {a.path for a in client.list_artifacts(child.info.run_id)}

    this_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[summary["flow_run_id"]]))
    with get_client(sync_client=True) as prefect:
        assert prefect.read_flow_run(summary["flow_run_id"]).state.is_completed()
        artifacts = {a.key: a for a in prefect.read_artifacts(artifact_filter=this_run)}
    assert {"backtest-folds", "backtest-report"} <= artifacts.keys()
    assert "mean test MSE" in artifacts["backtest-report"].data


def test_a_failing_fold_fails_the_flow_naming_it_and_the_other_folds_runs_stay(tiny_config, tracking):
    # 700 hourly phases: fold 0's 640 train rows cannot fill the cycle, folds 1 and 2 can; fold 1 reuses
    # fold 0's model (refit 2), so it fails with it
    config = tiny(tiny_config, **{"scaler.cycle": 700, "train.epochs": 1})
    options = BacktestOptions(folds=3, step=100, refit="2")

    state = backtest_flow(config, options, return_state=True)

    assert state.is_failed()
    with pytest.raises(BadInputError, match=r"fold 0 failed: .*series\.csv: .*; fold 1 failed: .*fold 0"):
        state.result()
    client = MlflowClient(tracking)
    runs = _runs(client)
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert parent.info.status == "FAILED"
    children = {int(run.data.tags["backtest.fold"]): run for run in runs if run is not parent}
    assert {fold: run.info.status for fold, run in children.items()} == {
        0: "FAILED",
        1: "FAILED",
        2: "FINISHED",
    }
    assert "series.csv" in children[0].data.tags["error"]
    assert "test_mse_scaled" in children[2].data.metrics
    assert client.search_registered_models() == []


def test_an_unreachable_scheduler_fails_the_parent_run_and_registers_nothing(tiny_config, tracking):
    options = BacktestOptions(folds=2, step=100, dask_address="tcp://127.0.0.1:9")

    state = backtest_flow(tiny(tiny_config, **{"train.epochs": 1}), options, return_state=True)

    with pytest.raises(BadInputError, match=r"--dask-address tcp://127.0.0.1:9: no Dask scheduler answered"):
        state.result()
    client = MlflowClient(tracking)
    [parent] = _runs(client)
    assert parent.info.status == "FAILED"
    assert client.search_registered_models() == []


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and one `dask worker` (no nanny: the worker is the process started here) on
    free loopback ports, as the README's --dask-address route starts them; both stopped by their PIDs."""
    from distributed import Client

    bin_dir = Path(sys.executable).parent
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler_command = [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--no-dashboard"]
    scheduler_command += ["--port", address.rsplit(":", 1)[1]]
    worker_command = [str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--no-nanny"]
    worker_command += ["--no-dashboard", "--preload", "tasks.fold"]
    started = []
    with open(tmp_path / "dask.log", "a") as log:
        for command in (scheduler_command, worker_command):
            # the worker retries its connection until the scheduler listens
            started.append(
                subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=120)
        yield address, started[1].pid
    finally:
        for process in reversed(started):
            stop_group(process)


def test_backtest_runs_its_folds_on_a_running_dask_scheduler_given_by_address(
    tiny_config, tracking, dask_cluster
):
    address, worker_pid = dask_cluster
    options = BacktestOptions(folds=2, step=100, dask_address=address)

    summary = backtest_flow(tiny(tiny_config, **{"train.epochs": 1}), options)

    assert [fold["worker"].rsplit(":", 1)[1] for fold in summary["folds"]] == [str(worker_pid)] * 2
    client = MlflowClient(tracking)
    children = [run for run in _runs(client) if "mlflow.parentRunId" in run.data.tags]
    assert sorted(run.info.status for run in children) == ["FINISHED", "FINISHED"]
