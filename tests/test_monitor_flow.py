"""The monitor flow and `bilstm monitor` on the real engines: a champion trained by the training flow on a
SQLite MLflow store, the monitor healthy on its clean data and degraded on a copy whose last 600 target
values drifted, each verdict read back as an event from the Prefect server's events API; recorded forecasts
scored once their targets arrived; a model registered before promises were recorded; a model of three
series, one drifting, named among the degraded series."""

from __future__ import annotations

import json
import os
import subprocess
import time

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from bilstm.promise import FALLBACK_FACTOR
from flows.forecast import forecast_flow
from flows.monitor import monitor_flow
from flows.train import train_flow
from tests.helpers import BILSTM, long_frame, shaped_config, synthetic_frame, tiny
from tracking.configs import champion_config
from tracking.monitoring import MONITOR_EXPERIMENT

NAME = "bilstm-forecaster"
JSON_KEYS = {
    "model_name",
    "model_version",
    "realised_mse_scaled",
    "expected_mse_scaled",
    "threshold_mse_scaled",
}
JSON_KEYS |= {"persistence_mse_scaled", "coverage_95", "drift", "degraded", "event", "run_id"}


@pytest.fixture(scope="module")
def store(tmp_path_factory, prefect_server):
    """A folder with the synthetic series, a drifted copy (the last 600 values of y times 1.8 plus 5), and
    an MLflow store whose champion the training flow registered; MLflow's global URIs restored after."""
    folder = tmp_path_factory.mktemp("monitor-flow")
    frame = synthetic_frame()
    frame.to_csv(folder / "series.csv", index=False)
    frame.assign(y=frame.y.where(frame.index < len(frame) - 600, frame.y * 1.8 + 5)).to_csv(
        folder / "drifted.csv", index=False
    )
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.setenv("BILSTM_HOME", str(folder / "bilstm-home"))
        patch.chdir(folder)
        config = {
            "data.path": str(folder / "series.csv"),
            "data.time_column": "timestamp",
            "data.targets": ["y"],
        }
        assert train_flow(tiny(**config))["promoted"]
        yield folder, MlflowClient(uri, registry_uri=uri)
    mlflow.set_tracking_uri(before[0])
    mlflow.set_registry_uri(before[1])


def events_of(run_id: str, timeout: float = 60, name: str = NAME) -> list:
    """The bilstm.model.* events about the model `name` whose payload names the monitoring run `run_id`,
    read back from the Prefect server's events API (it stores them a moment after they are sent)."""
    wanted = EventFilter(
        event=EventNameFilter(prefix=["bilstm.model."]),
        resource=EventResourceFilter(id=[f"bilstm.registered-model.{name}"]),
    )
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            found = [
                e for e in client.read_events(filter=wanted, limit=50).events if e.payload["run_id"] == run_id
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def test_the_champion_is_healthy_on_its_data_and_degraded_on_a_drifted_copy_each_verdict_an_event(store):
    folder, client = store
    healthy = monitor_flow(data=str(folder / "series.csv"))
    degraded = monitor_flow(data=str(folder / "drifted.csv"))

    assert healthy.keys() >= JSON_KEYS and (healthy["model_name"], healthy["model_version"]) == (NAME, "1")
    assert healthy["degraded"] is False and healthy["event"] == "bilstm.model.healthy"
    assert healthy["realised_mse_scaled"] <= healthy["threshold_mse_scaled"]
    assert healthy["source"] == "rolling-origin" and healthy["windows"] == 168 - 12 + 1  # a week of hours
    assert set(healthy["drift"]) == {"x", "y"} and 0 <= healthy["coverage_95"] <= 1
    assert degraded["degraded"] is True and degraded["event"] == "bilstm.model.degraded"
    assert (
        degraded["realised_mse_scaled"] > degraded["threshold_mse_scaled"] == healthy["threshold_mse_scaled"]
    )
    assert degraded["persistence_mse_scaled"] > healthy["persistence_mse_scaled"]

    for summary in (healthy, degraded):
        [event] = events_of(summary["run_id"])
        assert event.event == summary["event"]
        assert event.resource.id == f"bilstm.registered-model.{NAME}"
        assert event.resource["bilstm.model.version"] == "1"
        assert event.payload["degraded"] is summary["degraded"]
        assert event.payload["realised_mse_scaled"] == pytest.approx(summary["realised_mse_scaled"])
        assert f"prefect.flow-run.{summary['flow_run_id']}" in {related.id for related in event.related}

        run = client.get_run(summary["run_id"])
        assert client.get_experiment(run.info.experiment_id).name == MONITOR_EXPERIMENT
        assert run.info.status == "FINISHED" and run.data.tags["bilstm.kind"] == "monitor"
        assert run.data.tags["bilstm.monitor.degraded"] == str(summary["degraded"]).lower()
        assert run.data.metrics["realised_mse_scaled"] == pytest.approx(summary["realised_mse_scaled"])
        assert run.data.metrics["threshold_mse_scaled"] == pytest.approx(summary["threshold_mse_scaled"])
        assert "drift_psi.y" in run.data.metrics
        artifacts = {
            a.path
            for folder in ("monitoring", "plots")
            for a in client.list_artifacts(run.info.run_id, folder)
        }
        assert {"monitoring/windows.csv", "monitoring/drift.csv", "plots/realised_error.png"} <= artifacts
        this_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[summary["flow_run_id"]]))
        with get_client(sync_client=True) as prefect:
            assert prefect.read_flow_run(summary["flow_run_id"]).state.is_completed()
            [report] = [
                a for a in prefect.read_artifacts(artifact_filter=this_run) if a.key == "monitor-report"
            ]
        assert ("**degraded**" in report.data) is summary["degraded"]


def test_forecast_runs_record_what_they_forecast_and_the_monitor_scores_those_whose_targets_arrived(
    store, tmp_path
):
    folder, client = store
    frame = synthetic_frame()
    issued = [len(frame) - 100, len(frame) - 60, len(frame) - 5]  # the last one's targets have not arrived
    for rows in issued:
        frame.head(rows).to_csv(folder / "history.csv", index=False)
        summary = forecast_flow(data=str(folder / "history.csv"), output=str(folder / "forecast.csv"))

    run = client.get_run(summary["run_id"])
    tags = run.data.tags
    assert (tags["bilstm.kind"], tags["bilstm.model.name"], tags["bilstm.model.version"]) == (
        "forecast",
        NAME,
        "1",
    )
    assert tags["bilstm.forecast.issue_time"] == str(frame.timestamp.iloc[issued[-1] - 1])
    recorded = pd.read_csv(client.download_artifacts(run.info.run_id, "forecast/forecast.csv", str(tmp_path)))
    written = pd.read_csv(folder / "forecast.csv")
    assert list(recorded.columns) == [
        *("model_name", "model_version", "issue_time", "series", "step", "target_time", "target", "value"),
        *("lo_80", "hi_80", "lo_95", "hi_95"),
    ]
    assert recorded["target_time"].tolist() == written["timestamp"].tolist()
    assert recorded["value"].tolist() == pytest.approx(written["y"].tolist())

    monitored = monitor_flow(data=str(folder / "series.csv"), window=120)

    assert monitored["source"] == "recorded" and monitored["windows"] == 2
    assert monitored["first_target"] == str(frame.timestamp.iloc[issued[0]])


def test_a_model_registered_before_promises_is_held_to_a_multiple_of_its_test_mse(store):
    folder, client = store
    champion = client.get_model_version_by_alias(NAME, "champion")
    experiment = client.get_experiment_by_name(NAME).experiment_id
    old_run = client.create_run(experiment, tags={"mlflow.runName": "registered before promises"})
    client.log_metric(old_run.info.run_id, "test_mse_scaled", 0.04)
    client.set_terminated(old_run.info.run_id)
    client.create_registered_model("old-forecaster")
    client.create_model_version("old-forecaster", champion.source, run_id=old_run.info.run_id)

    summary = monitor_flow(model_uri="models:/old-forecaster/1", data=str(folder / "series.csv"))

    assert summary["expected_mse_scaled"] == 0.04
    assert summary["threshold_mse_scaled"] == pytest.approx(FALLBACK_FACTOR * 0.04)
    assert summary["drift"] == {} and summary["band_low_mse_scaled"] is None


def test_bilstm_monitor_exits_0_on_drifted_data_and_its_last_line_is_the_json_summary(store):
    from prefect.settings import PREFECT_API_URL

    folder, client = store
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), BILSTM_MALLOC_TUNING="0")
    result = subprocess.run(
        [BILSTM, "monitor", "--data", str(folder / "drifted.csv"), "--json"],
        capture_output=True, text=True, cwd=folder, env=env, timeout=600,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    *lines, last = result.stdout.strip().splitlines()
    summary = json.loads(last)
    assert summary.keys() >= JSON_KEYS and summary["degraded"] is True
    assert f"{NAME} v1 DEGRADED: realised MSE (scaled) {summary['realised_mse_scaled']:.4f}" in lines[0]
    assert "DEGRADED: realised MSE" in result.stderr
    assert client.get_run(summary["run_id"]).info.status == "FINISHED"


def test_a_model_of_many_series_is_degraded_when_one_drifts_naming_it_in_the_summary_event_and_table(
    store, tmp_path
):
    folder, client = store
    frame = long_frame({"a": 400, "b": 400, "c": 400})
    frame.to_csv(folder / "long.csv", index=False)
    config = shaped_config(
        folder / "long.csv",
        "many",
        **{"train.epochs": 1, "data.test_steps": 36, "registry.model_name": "many"},
    )
    assert train_flow(config)["promoted"]
    # a forecast issued 20 rows before each series' end: its targets arrive within the monitored day
    frame[frame.groupby("id").cumcount() < 380].to_csv(folder / "long_history.csv", index=False)
    forecast_flow(
        model_uri="models:/many@champion",
        data=str(folder / "long_history.csv"),
        output=str(tmp_path / "f.csv"),
    )
    late = frame.groupby("id").cumcount() >= 340
    drifted = frame.assign(y=frame.y.where((frame.id != "c") | ~late, frame.y * 1.8 + 5))
    unseen = frame[frame.id == "a"].assign(id="d")  # a series the model never saw
    pd.concat([drifted, unseen]).to_csv(folder / "long_drifted.csv", index=False)

    summary = monitor_flow(
        model_uri="models:/many@champion", data=str(folder / "long_drifted.csv"), window=24
    )

    assert summary["degraded"] is True and summary["series"] == 4
    assert summary["degraded_series"] == ["c"] and summary["worst_series"] == "c"
    assert summary["source"] == "recorded and rolling-origin"  # d has no recorded forecast
    unseen_note = "1 series the model was not trained on (d): forecast from their own history"
    assert sum(unseen_note in w for w in summary["warnings"]) == 1, summary["warnings"]
    [event] = events_of(summary["run_id"], name="many")
    assert event.event == "bilstm.model.degraded" and event.payload["degraded_series_count"] == 1
    run = client.get_run(summary["run_id"])
    assert run.data.tags["bilstm.monitor.worst_series"] == "c"
    table = mlflow.load_table("monitoring/series.json", run_ids=[summary["run_id"]])
    assert table.set_index("series")["degraded"].to_dict() == {"c": True, "a": False, "b": False, "d": False}
    # what the retrain automation, fired by the event, retrains: the champion's own job on the long table
    assert champion_config("many")[1].data.series_column == "id"
