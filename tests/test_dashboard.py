"""`bilstm dashboard`: real Prefect and MLflow servers on free loopback ports, deployments served, runs
triggered as the UI does, a schedule that fires by itself, a real browser, and no orphans at the end."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from bilstm.config import TrainConfig
from deployments.processes import alive, descendants, free_port, wait_for
from deployments.serve import PREFECT_YAML
from tests.helpers import BILSTM, assert_shipped_trigger, emit_model_events, runs_once_one_ends, tiny

pytestmark = pytest.mark.slow  # starts the Prefect and MLflow servers of `bilstm dashboard`


class Running:
    """A `bilstm dashboard` subprocess and what the tests need to talk to it."""

    def __init__(self, state: Path, prefect_file: Path | None = None) -> None:
        self.state, self.prefect_port, self.mlflow_port = state, free_port(), free_port()
        state.mkdir(parents=True, exist_ok=True)
        command = [BILSTM, "dashboard", "--prefect-port", str(self.prefect_port)]
        command += ["--mlflow-port", str(self.mlflow_port), "--state-dir", str(state)]
        if prefect_file:
            command += ["--prefect-file", str(prefect_file)]
        self.output = open(state / "dashboard.out", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, stdout=self.output, stderr=subprocess.STDOUT)
        wait_for(f"{self.prefect_url}/api/health")
        wait_for(f"{self.mlflow_url}/health")

    prefect_url = property(lambda self: f"http://127.0.0.1:{self.prefect_port}")
    mlflow_url = property(lambda self: f"http://127.0.0.1:{self.mlflow_port}")

    def settings(self):
        from prefect.settings import PREFECT_API_URL, temporary_settings

        return temporary_settings({PREFECT_API_URL: f"{self.prefect_url}/api"})

    def deployments(self, expected: int | None = None, timeout: float = 120) -> list:
        """The served deployments, once `expected` of them (default: as many as the shipped prefect.yaml
        holds, which every dashboard here serves a copy of) are registered."""
        expected = expected or len(yaml.safe_load(PREFECT_YAML.read_text())["deployments"])
        from prefect.client.orchestration import get_client

        deadline = time.monotonic() + timeout
        with self.settings(), get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                found = client.read_deployments()
                if len(found) >= expected:
                    return found
                time.sleep(1)
        raise TimeoutError("deployments were not served")

    def stop(self) -> list[int]:
        """SIGTERM the dashboard as a user's Ctrl-C would; returns the processes still alive after."""
        everyone = [self.process.pid, *descendants(self.process.pid)]
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        self.output.close()
        return [pid for pid in everyone if alive(pid)]


def tiny_parameters(csv: str) -> dict:
    config = tiny(
        **{"data.path": csv, "data.time_column": "timestamp", "data.targets": ["y"], "train.epochs": 1}
    )
    return {"config": config.model_dump(mode="json")}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    running = Running(tmp_path_factory.mktemp("dashboard"))
    yield running
    running.stop()


def test_the_shipped_deployments_are_served_with_a_per_field_form(dashboard):
    deployments = {d.name: d for d in dashboard.deployments()}
    shipped = [entry["name"] for entry in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]]
    assert set(deployments) == set(shipped)
    names = {"train", "nightly-retrain", "forecast", "backtest", "sweep", "monitor", "retrain-on-degradation"}
    assert names <= set(shipped)
    printed = (dashboard.state / "dashboard.out").read_text()
    assert f"(deployments starting: {', '.join(shipped)})" in printed
    # "ready" is printed once every deployment is READY: the UI offers them to run
    deadline = time.monotonic() + 120
    while "Deployments ready after" not in printed and time.monotonic() < deadline:
        time.sleep(1)
        printed = (dashboard.state / "dashboard.out").read_text()
    assert "Deployments ready after" in printed and f"s: {dashboard.prefect_url}/deployments" in printed
    assert {d.name: d.status.value for d in dashboard.deployments()} == dict.fromkeys(shipped, "READY")
    assert set(deployments["monitor"].parameter_openapi_schema["properties"]) == {
        "model_uri",
        "data",
        "window",
        "csv",
    }
    assert [s.active for s in deployments["monitor"].schedules] == [False]  # on with one edit
    train_schema = deployments["train"].parameter_openapi_schema
    fields = train_schema["definitions"]["TrainConfig"]["properties"]
    assert fields["epochs"]["minimum"] == 1 and fields["epochs"]["default"] == TrainConfig().epochs
    assert set(deployments["forecast"].parameter_openapi_schema["properties"]) == {
        "model_uri",
        "data",
        "output",
        "plot",
        "skip_short",
        "csv",
        "future_data",
    }
    train_data = train_schema["definitions"]["DataConfig"]["properties"]
    assert {"future", "calendar", "static"} <= set(train_data)  # the covariate roles, in the retrain's form
    backtest = deployments["backtest"].parameter_openapi_schema
    assert set(backtest["properties"]) == {"config", "backtest"}
    options = backtest["definitions"]["BacktestOptions"]["properties"]
    assert set(options) == {"folds", "step", "refit", "workers", "dask_address"}
    assert options["folds"]["minimum"] == 1 and options["folds"]["default"] == 4
    assert deployments["backtest"].schedules == []
    sweep = deployments["sweep"].parameter_openapi_schema
    assert set(sweep["properties"]) == {"config", "sweep_options", "space"}
    assert "config field ->" in sweep["properties"]["space"]["description"]  # the form says how to fill it
    options = sweep["definitions"]["SweepOptions"]["properties"]
    assert {"trials", "timeout", "folds", "workers", "dask_address", "study"} <= set(options)
    assert options["trials"]["minimum"] == 1 and options["trials"]["default"] == 20
    assert deployments["sweep"].schedules == []
    schedules = deployments["nightly-retrain"].schedules
    assert [s.schedule.cron for s in schedules] == ["0 2 * * *"] and schedules[0].active
    retrain = deployments["retrain-on-degradation"].parameter_openapi_schema["properties"]
    assert set(retrain) == {"model_name", "reason"}
    assert retrain["model_name"]["default"] == "bilstm-forecaster"


@pytest.fixture(scope="module")
def ui_train_run(dashboard, history_csv):
    """A run of `train` with the tiny config, started as the UI's custom run starts one; its version is the
    first of `bilstm-forecaster` on this dashboard, so it becomes the champion."""
    from prefect.deployments import run_deployment

    dashboard.deployments()
    with dashboard.settings():
        return run_deployment(
            "train/train", parameters=tiny_parameters(history_csv), timeout=600, poll_interval=1
        )


def test_custom_train_run_from_the_ui_then_forecast(dashboard, ui_train_run, history_csv, tmp_path):
    from prefect.deployments import run_deployment

    flow_run = ui_train_run
    assert flow_run.state.is_completed(), flow_run.state

    client = MlflowClient(dashboard.mlflow_url, registry_uri=dashboard.mlflow_url)
    experiment = client.get_experiment_by_name("bilstm-forecaster")
    runs = client.search_runs([experiment.experiment_id], f"tags.`prefect.flow_run_id` = '{flow_run.id}'")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.params["window.horizon"] == "12" and runs[0].data.params["train.epochs"] == "1"
    # epoch 0 (the starting weights) and the one epoch trained
    assert sorted(m.step for m in client.get_metric_history(runs[0].info.run_id, "val_loss")) == [0, 1]
    versions = client.search_model_versions(f"run_id = '{runs[0].info.run_id}'")
    assert [v.name for v in versions] == ["bilstm-forecaster"]

    output = tmp_path / "forecast.csv"
    parameters = {"model_uri": f"models:/bilstm-forecaster/{versions[0].version}", "data": history_csv}
    with dashboard.settings():
        forecast_run = run_deployment(
            "forecast/forecast", parameters=parameters | {"output": str(output)}, timeout=600, poll_interval=1
        )
    assert forecast_run.state.is_completed(), forecast_run.state
    table = pd.read_csv(output, parse_dates=["timestamp"])
    last = pd.read_csv(history_csv, parse_dates=["timestamp"]).timestamp.iloc[-1]
    assert len(table) == 12
    assert (table.timestamp == pd.date_range(last, periods=13, freq="h")[1:]).all()
    # what the served flow wrote is what the registered version forecasts from the same history
    np.testing.assert_allclose(
        table.y, registered_forecast(dashboard, versions[0].version, history_csv).y, rtol=1e-5
    )


def test_a_degraded_monitor_run_retrains_the_champion_once_through_the_gate(
    dashboard, ui_train_run, history_csv, tmp_path
):
    """The loop on the dashboard's servers: the `monitor` deployment, on a copy of the champion's data whose
    last 600 target values drifted (x1.8 + 5), emits `bilstm.model.degraded`; the trigger of
    `retrain-on-degradation` starts one retrain with the champion's config, whose train subflow registers a
    version and makes the champion decision. A burst after it within the cool-down (the same event twice
    more, a healthy one, a degraded one of another model) starts nothing more."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.events.filters import EventFilter, EventResourceFilter

    retrain = {d.name: d for d in dashboard.deployments()}["retrain-on-degradation"]
    with dashboard.settings(), get_client(sync_client=True) as prefect:
        automation = assert_shipped_trigger(prefect, retrain.id)
    assert ui_train_run.state.is_completed(), ui_train_run.state
    client = MlflowClient(dashboard.mlflow_url, registry_uri=dashboard.mlflow_url)
    champion = str(client.get_model_version_by_alias("bilstm-forecaster", "champion").version)

    frame = pd.read_csv(history_csv)
    drifted = frame.assign(y=frame.y.where(frame.index < len(frame) - 600, frame.y * 1.8 + 5))
    drifted.to_csv(tmp_path / "drifted.csv", index=False)
    with dashboard.settings():
        monitor = run_deployment(
            "monitor/monitor", parameters={"data": str(tmp_path / "drifted.csv")}, poll_interval=1
        )
    assert monitor.state.is_completed(), monitor.state
    monitoring = client.get_experiment_by_name("bilstm-monitoring").experiment_id
    [verdict] = client.search_runs([monitoring], f"tags.`prefect.flow_run_id` = '{monitor.id}'")
    assert verdict.data.tags["bilstm.monitor.degraded"] == "true"
    degraded, healthy = (f"bilstm.model.{word}" for word in ("degraded", "healthy"))
    burst = [(name, "bilstm-forecaster", champion) for name in (degraded, degraded, healthy)]
    emit_model_events(f"{dashboard.prefect_url}/api", [*burst, (degraded, "another-model", "1")])

    [run] = runs_once_one_ends(f"{dashboard.prefect_url}/api", retrain.id, settle=5)
    assert run.state.is_completed(), run.state
    assert run.created_by.type == "AUTOMATION"
    assert run.parameters["model_name"] == "bilstm-forecaster"
    reason = run.parameters["reason"]
    assert reason.startswith(f"bilstm.model.degraded of v{champion} (event ")
    assert reason.endswith(f"monitoring run {verdict.info.run_id})")  # the monitor's event, not the burst's

    experiment = client.get_experiment_by_name("bilstm-forecaster")
    [retrained] = client.search_runs([experiment.experiment_id], f"tags.`retrain.of_version` = '{champion}'")
    tags = retrained.data.tags
    assert retrained.info.status == "FINISHED" and tags["retrain.reason"] == reason
    assert tags["promoted"] in ("true", "false") and tags["promotion_reason"]
    [version] = client.search_model_versions(f"run_id = '{retrained.info.run_id}'")
    assert version.tags["promotion"] == tags["promotion_reason"]
    assert retrained.data.params["train.epochs"] == "1"  # the champion's config, not the defaults (10)
    with dashboard.settings(), get_client(sync_client=True) as prefect:
        train_run = prefect.read_flow_run(tags["prefect.flow_run_id"])
        assert prefect.read_task_run(train_run.parent_task_run_id).flow_run_id == run.id  # its subflow
        # what the UI's Events page lists for the automation: it fired once, and ran the deployment
        about = EventFilter(resource=EventResourceFilter(id=[f"prefect.automation.{automation.id}"]))
        fired = [event.event for event in prefect.read_events(filter=about, limit=50).events]
    assert train_run.state.is_completed()
    assert fired.count("prefect.automation.triggered") == 1 and "prefect.automation.action.executed" in fired


def registered_forecast(dashboard: Running, version: str, history_csv: str) -> pd.DataFrame:
    """The forecast of a version registered on the dashboard's MLflow server, loaded here in the test."""
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(dashboard.mlflow_url)
    mlflow.set_registry_uri(dashboard.mlflow_url)
    try:
        model = mlflow.pyfunc.load_model(f"models:/bilstm-forecaster/{version}")
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    return model.predict(pd.read_csv(history_csv, parse_dates=["timestamp"]))


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (.ci/run installs it)")
def test_a_real_browser_renders_the_deployments_the_runs_and_the_retrain_loop(dashboard, tmp_path):
    """The docs' walkthrough pages, from the runs of the tests above: the deployments, a training run in
    MLflow, and the loop (the monitor's degraded event, the automation, the retrain it started, the
    monitoring run). Screenshots go to $BILSTM_SCREENSHOTS (docs/screenshots refreshes the docs') or a
    tmp dir."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    screenshots = Path(os.environ.get("BILSTM_SCREENSHOTS", tmp_path))
    client = MlflowClient(dashboard.mlflow_url, registry_uri=dashboard.mlflow_url)
    experiment = client.get_experiment_by_name("bilstm-forecaster")
    run = client.search_runs([experiment.experiment_id], max_results=1)[0]
    monitoring = client.get_experiment_by_name("bilstm-monitoring")
    [degraded] = client.search_runs([monitoring.experiment_id], "tags.`bilstm.monitor.degraded` = 'true'")
    retrain = DeploymentFilter(name=DeploymentFilterName(any_=["retrain-on-degradation"]))
    with dashboard.settings(), get_client(sync_client=True) as prefect:
        [retrain_run] = prefect.read_flow_runs(deployment_filter=retrain)
    screenshots.mkdir(parents=True, exist_ok=True)
    mlflow_runs = f"{dashboard.mlflow_url}/#/experiments"
    pages = {
        "prefect-deployments": (f"{dashboard.prefect_url}/deployments", ["nightly-retrain", "monitor"]),
        "mlflow-run": (
            f"{mlflow_runs}/{experiment.experiment_id}/runs/{run.info.run_id}",
            ["val_loss", "test_mse_scaled", "seasonal_naive_test_mse_scaled"],
        ),
        "prefect-events": (f"{dashboard.prefect_url}/events", ["bilstm.model.degraded"]),
        "prefect-automations": (f"{dashboard.prefect_url}/automations", ["retrain-on-degradation"]),
        "prefect-retrain-run": (
            f"{dashboard.prefect_url}/runs/flow-run/{retrain_run.id}",
            [retrain_run.name, "Completed"],
        ),
        "mlflow-monitoring-run": (
            f"{mlflow_runs}/{monitoring.experiment_id}/runs/{degraded.info.run_id}",
            ["realised_mse_scaled", "threshold_mse_scaled"],
        ),
    }
    for name, (url, expected) in pages.items():
        dom = render(url, screenshots / f"{name}.png")
        for text in expected:
            assert text in dom, f"{text!r} not rendered on {url}"
        assert (screenshots / f"{name}.png").stat().st_size > 10_000


def render(url: str, screenshot: Path) -> str:
    """The page's DOM after its scripts ran, and a screenshot of it, from one headless Chromium run (it
    takes both of the page it loaded once: the DOM on stdout, the screenshot to its file)."""
    command = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1440,900"]
    command += ["--virtual-time-budget=15000", "--run-all-compositor-stages-before-draw"]
    command += [f"--screenshot={screenshot}", "--dump-dom", url]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout


def test_a_sweep_started_as_the_ui_starts_one_completes_and_registers_its_best(dashboard, history_csv):
    """The `sweep` deployment with a tiny config and two trials, in its own experiment and model name (the
    runs of the tests above stay the latest of theirs); the study lands in the served process's folder."""
    from prefect.deployments import run_deployment

    parameters = tiny_parameters(history_csv)
    parameters["config"]["registry"] |= {"model_name": "ui-sweep", "experiment": "ui-sweep"}
    parameters |= {
        "sweep_options": {"trials": 2, "folds": 1, "study": "ui-sweep"},
        "space": {"train.lr": {"low": 0.001, "high": 0.01, "log": True}},
    }
    dashboard.deployments()
    with dashboard.settings():
        flow_run = run_deployment("sweep/sweep", parameters=parameters, timeout=600, poll_interval=1)
    assert flow_run.state.is_completed(), flow_run.state

    client = MlflowClient(dashboard.mlflow_url, registry_uri=dashboard.mlflow_url)
    experiment = client.get_experiment_by_name("ui-sweep").experiment_id
    [parent] = client.search_runs([experiment], f"tags.`prefect.flow_run_id` = '{flow_run.id}'")
    trials = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(t.info.run_name for t in trials) == ["trial-0", "trial-1"]
    assert client.get_model_version_by_alias("ui-sweep", "champion").version == "1"
    assert (dashboard.state / "optuna.db").exists()


def every_20_seconds(history_csv: str, folder: Path) -> Path:
    """A copy of deployments/prefect.yaml whose nightly retrain runs every 20 s on a tiny config (not more
    often: runs that start while the first one trains slow it down on a small machine)."""
    spec = yaml.safe_load(PREFECT_YAML.read_text())
    nightly = next(entry for entry in spec["deployments"] if entry["name"] == "nightly-retrain")
    nightly |= {"schedules": [{"interval": 20}], "parameters": tiny_parameters(history_csv)}
    (folder / "prefect.yaml").write_text(yaml.safe_dump(spec))
    return folder / "prefect.yaml"


def test_a_schedule_fires_by_itself_and_stopping_leaves_no_process(tmp_path, history_csv):
    from prefect.client.orchestration import get_client

    running = Running(tmp_path / "state", every_20_seconds(history_csv, tmp_path))
    try:
        nightly = {d.name: d for d in running.deployments()}["nightly-retrain"]
        deadline, completed = time.monotonic() + 300, []
        with running.settings(), get_client(sync_client=True) as client:
            while not completed and time.monotonic() < deadline:
                runs = [r for r in client.read_flow_runs() if r.deployment_id == nightly.id]
                completed = [r for r in runs if r.state and r.state.is_completed()]
                time.sleep(1)
        assert completed, "the interval schedule did not produce a completed run"
        assert completed[0].auto_scheduled
    finally:
        left = running.stop()
    assert left == [], f"processes left after stopping the dashboard: {left}"
    assert (tmp_path / "state" / "mlflow.db").exists() and (tmp_path / "state" / ".prefect").is_dir()
