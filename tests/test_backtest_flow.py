"""The backtest flow on the real engines: `bilstm backtest` with its folds on a real two-worker Dask
cluster, a real Prefect server and a real SQLite MLflow store; the folds on a running `dask scheduler` with
two `dask worker` processes (the same scores as in one process; a worker SIGKILLed mid-fold, retried by Dask
or given up); a fold that fails; a scheduler that is not there."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pandas as pd
import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from bilstm.errors import BadInputError
from bilstm.folds import BacktestOptions
from flows.backtest import backtest_flow
from tasks.backtest import FoldsFailedError
from tests.helpers import long_table, synthetic_frame, tiny, tiny_args, write_table
from tests.servers import start_dask_cluster

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


def test_a_backtest_of_many_series_folds_every_series_at_once_leaving_out_one_too_short(
    tiny_config, tracking, tmp_path
):
    data = write_table(tmp_path, long_table({"a": 150, "b": 100, "c": 200}))  # b: too short for 3 folds
    many = {"data.path": data, "data.series_column": "id", "data.skip_short": True, "train.epochs": 1}

    summary = backtest_flow(tiny(tiny_config, **many), BacktestOptions(folds=3))

    assert (summary["series"], summary["series_left_out"]) == (2, 1)
    assert "left out 1 series too short for 3 folds: 'b'" in summary["warnings"][0]
    folds = summary["folds"]
    assert [fold["train_rows"] for fold in folds] == [150 + 200 - 2 * (24 + 24 - 12 * k) for k in range(3)]
    assert all({"test_smape", "test_mase", "test_owa"} <= fold.keys() for fold in folds)
    assert summary["metrics"]["mean_test_owa"] == pytest.approx(sum(f["test_owa"] for f in folds) / 3)
    client = MlflowClient(tracking)
    children = [run for run in _runs(client) if "mlflow.parentRunId" in run.data.tags]
    assert sorted(run.info.status for run in children) == ["FINISHED"] * 3
    by_fold = {int(run.data.tags["backtest.fold"]): run for run in children}
    assert by_fold[2].data.params["test_rows"] == str(2 * 12)  # 12 rows of each of the two series


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
    """A real `dask scheduler` and two `dask worker` processes (no nanny: each worker is the process started
    here) on free loopback ports, as the docs' --dask-address route starts them; stopped by their PIDs."""
    cluster = start_dask_cluster(tmp_path, workers=2)
    yield cluster
    cluster.stop()


def _fold_results(summary: dict) -> list[dict]:
    """Each fold's row without what differs from one run to the next: its seconds and its worker."""
    return [{k: v for k, v in fold.items() if k not in ("seconds", "worker")} for fold in summary["folds"]]


def test_folds_on_two_dask_workers_by_address_score_exactly_as_the_in_process_run(
    tiny_config, tracking, dask_cluster
):
    config = tiny(tiny_config, **{"train.epochs": 1})
    here = backtest_flow(config, BacktestOptions(folds=2, step=100))
    options = BacktestOptions(folds=2, step=100, dask_address=dask_cluster.address)

    summary = backtest_flow(config, options)

    # one fold on each worker (the scheduler spreads two tasks over two idle workers)
    pids = {fold["worker"].rsplit(":", 1)[1] for fold in summary["folds"]}
    assert pids == {str(worker.pid) for worker in dask_cluster.workers}
    # same seeds, same single torch thread: bit for bit the numbers of the in-process run
    assert _fold_results(summary) == _fold_results(here)
    assert summary["metrics"] == here["metrics"]
    client = MlflowClient(tracking)
    children = [run for run in _runs(client) if "mlflow.parentRunId" in run.data.tags]
    assert sorted(run.info.status for run in children) == ["FINISHED"] * 4


# folds of some seconds each (no early stop), so that a kill lands while one runs
SECONDS_LONG_FOLDS = {"train.epochs": 100, "train.patience": 100}


def _kill_a_worker_running_a_fold(cluster, timeout: float = 120) -> tuple[int, str]:
    """SIGKILL a `dask worker` process that runs a fold, once every fold task on the cluster has begun (its
    Prefect task run is RUNNING); its PID and address."""
    from distributed import Client

    pids, since = cluster.worker_pids(), datetime.now(timezone.utc)
    with Client(cluster.address, timeout=30) as client:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            processing = {worker: keys for worker, keys in client.processing().items() if keys}
            started = _running_folds(since)
            if processing and started >= sum(len(keys) for keys in processing.values()):
                worker = next(iter(processing))
                os.kill(pids[worker], signal.SIGKILL)
                return pids[worker], worker
            time.sleep(0.05)
    raise TimeoutError(f"no fold started on the cluster within {timeout:.0f} s")


def _running_folds(since: datetime) -> int:
    """How many fold task runs that started after `since` are RUNNING on the test Prefect server."""
    from prefect.client.schemas import filters
    from prefect.client.schemas.objects import StateType

    running = filters.TaskRunFilter(
        name=filters.TaskRunFilterName(like_="fold-"),
        state=filters.TaskRunFilterState(type=filters.TaskRunFilterStateType(any_=[StateType.RUNNING])),
        start_time=filters.TaskRunFilterStartTime(after_=since),
    )
    with get_client(sync_client=True) as prefect:
        return len(prefect.read_task_runs(task_run_filter=running))


def _fold_task_states(flow_run_id: str) -> dict[str, str]:
    """The state of each fold task run of the flow run, by task run name (`fold-0`, ...)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    this_run = FlowRunFilter(id=FlowRunFilterId(any_=[str(flow_run_id)]))
    with get_client(sync_client=True) as prefect:
        task_runs = prefect.read_task_runs(flow_run_filter=this_run)
    return {run.name: run.state.type.value for run in task_runs if run.name.startswith("fold-")}


def test_a_dask_worker_killed_mid_fold_has_its_fold_rerun_on_the_other_worker(
    tiny_config, tracking, dask_cluster
):
    config = tiny(tiny_config, **SECONDS_LONG_FOLDS)
    options = BacktestOptions(folds=2, step=100, dask_address=dask_cluster.address)

    with ThreadPoolExecutor(1) as pool:
        backtest = pool.submit(backtest_flow, config, options)
        killed, _ = _kill_a_worker_running_a_fold(dask_cluster)
        summary = backtest.result(timeout=600)

    # Dask's scheduler gave the lost worker's fold to the other worker, which ran both folds
    # (distributed.scheduler.allowed-failures: a task may see 3 workers die before Dask gives up)
    [survivor] = [worker.pid for worker in dask_cluster.workers if worker.pid != killed]
    assert [fold["worker"].rsplit(":", 1)[1] for fold in summary["folds"]] == [str(survivor)] * 2
    assert _fold_task_states(summary["flow_run_id"]) == {"fold-0": "COMPLETED", "fold-1": "COMPLETED"}
    client = MlflowClient(tracking)
    runs = _runs(client)
    assert sorted(run.info.status for run in runs) == ["FINISHED"] * 3  # the parent and two folds
    assert client.search_registered_models() == []


def test_a_fold_whose_worker_dies_once_dask_allows_no_more_fails_the_flow_naming_it_and_the_worker(
    tiny_config, tracking, tmp_path
):
    # a scheduler that gives a task up at its first lost worker (Dask's default allows 3)
    no_retries = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    cluster = start_dask_cluster(tmp_path, workers=2, env=no_retries)
    try:
        options = BacktestOptions(folds=2, step=100, dask_address=cluster.address)
        with ThreadPoolExecutor(1) as pool:
            backtest = pool.submit(
                backtest_flow, tiny(tiny_config, **SECONDS_LONG_FOLDS), options, return_state=True
            )
            _, address = _kill_a_worker_running_a_fold(cluster)
            state = backtest.result(timeout=600)
    finally:
        cluster.stop()

    assert state.is_failed()
    with pytest.raises(FoldsFailedError) as failed:
        state.result()
    # distributed's KilledWorker, naming the worker
    died = rf"fold (\d) failed: Attempted to run task .* workers died .* was {re.escape(address)}\."
    lost = re.match(died, str(failed.value))
    assert lost, str(failed.value)
    client = MlflowClient(tracking)
    runs = _runs(client)
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert parent.info.status == "FAILED"
    children = {run.data.tags["backtest.fold"]: run.info.status for run in runs if run is not parent}
    survivor = str(1 - int(lost[1]))
    assert children == {lost[1]: "FAILED", survivor: "FINISHED"}
    assert client.search_registered_models() == []
    # the lost fold's task run is Crashed, not left running
    states = _fold_task_states(state.state_details.flow_run_id)
    assert states == {f"fold-{lost[1]}": "CRASHED", f"fold-{survivor}": "COMPLETED"}
