"""The training flow end to end: real Prefect (test server) and real MLflow (SQLite in a tmp dir); on a long
table, one global model with per-series metrics gated on OWA, and `bilstm forecast` of every series."""

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

from bilstm.pipeline import run as run_pipeline
from flows.train import train_flow
from tests.helpers import long_frame, synthetic_frame, tiny, write_shaped

NAME = "bilstm-forecaster"


def test_train_flow_tracks_registers_and_promotes(tiny_config, tracking):
    summary = train_flow(tiny_config)
    client = MlflowClient(tracking, registry_uri=tracking)
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["model.hidden_size"] == "16" and run.data.params["window.lookback"] == "48"
    epochs = list(range(1, summary["epochs_run"] + 1))
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")] == epochs
    # validation from epoch 0: the weights training started from (the linear warm start)
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "val_loss")) == [0, *epochs]
    # the segment length was left to the data: one day of hourly steps, logged once it was known
    assert run.data.params["model.patch_len"] == "24" and run.data.params["data.seasonal_period"] == "24"
    # the synthetic walk is no count: nothing is floored
    assert run.data.tags["data.nonnegative_targets"] == "none"
    assert summary["derived_settings"] == {"model.patch_len": 24}
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    artifacts |= {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"metrics_by_horizon.csv", "plots/loss_curve.png", "plots/forecast.png"} <= artifacts
    # the config whole, what a retrain of this job reads back
    recorded = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/config.json")
    assert recorded == tiny_config.model_dump(mode="json")
    assert run.data.tags["prefect.flow_run_id"] == summary["flow_run_id"]
    assert run.inputs.dataset_inputs[0].dataset.name == "series"
    assert run.inputs.dataset_inputs[0].dataset.digest == run.data.tags["data.digest"]
    for key in (
        "test_mse_scaled",
        "test_mse",
        "test_mase",
        "naive_test_mse_scaled",
        "seasonal_naive_test_mse_scaled",
    ):
        assert run.data.metrics[key] == pytest.approx(summary["metrics"][key])

    # the synthetic series is learnable: the model beats seasonal naive and becomes champion
    assert summary["promoted"] and summary["model_version"] == "1" == summary["champion_version"]
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == "1"
    tags = client.get_model_version(NAME, "1").tags
    assert tags["job.horizon"] == "12" and tags["job.data"] == "series" and tags["job.targets"] == '["y"]'

    history = pd.read_csv(tiny_config.data.path, parse_dates=["timestamp"])
    served = mlflow.pyfunc.load_model(f"models:/{NAME}@champion").predict(history)
    in_memory, _, _ = run_pipeline(tiny_config, progress=False)  # same seed, same data: the same model
    pd.testing.assert_frame_equal(served, in_memory.predict(history), check_dtype=False, rtol=1e-5)

    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(summary["flow_run_id"])
        assert flow_run.state.is_completed()
        keys = {a.key for a in prefect.read_artifacts() if a.flow_run_id == flow_run.id}
    assert {"train-report", "mlflow-run"} <= keys
    # the report shows each level's test coverage and mean width beside the MSE table
    report = _report(summary["flow_run_id"])
    assert "| test MSE (scaled) |" in report
    for level in ("80", "95"):
        coverage, width = (summary["metrics"][f"test_{name}_{level}"] for name in ("coverage", "width"))
        assert f"| {level} % | {coverage:.3f} | {width:.4f} |" in report


def _report(flow_run_id: str) -> str:
    """The markdown of a flow run's `train-report` artifact, read back from the Prefect API."""
    this_report = ArtifactFilter(
        key=ArtifactFilterKey(any_=["train-report"]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
    )
    with get_client(sync_client=True) as prefect:
        [report] = prefect.read_artifacts(artifact_filter=this_report)
    return report.data


def test_the_report_of_a_forecaster_without_intervals_says_nothing_about_intervals(tiny_config, tracking):
    summary = train_flow(tiny(tiny_config, **{"intervals.levels": [], "train.epochs": 1}))

    report = _report(summary["flow_run_id"])
    assert "| test MSE (scaled) |" in report
    assert "interval" not in report and "coverage" not in report


def test_a_worse_model_does_not_move_the_champion(tiny_config, tracking):
    first = train_flow(tiny_config)
    worse = tiny_config.model_copy(deep=True)
    worse.model.highway, worse.model.instance_norm = False, "none"
    worse.train.lr, worse.train.epochs = 1e-7, 1
    second = train_flow(worse)

    client = MlflowClient(tracking, registry_uri=tracking)
    assert not second["promoted"]
    assert second["champion_version"] == first["model_version"] == "1"
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == "2"
    # the champion was evaluated now, on the same windows: it reproduces its own test MSE
    champion_now = client.get_run(second["run_id"]).data.metrics["champion_test_mse_scaled"]
    assert champion_now == pytest.approx(first["metrics"]["test_mse_scaled"], rel=1e-5)


def _other_file(tiny_config, tmp_path):
    """The same columns and frequency in a file of another name: another data set."""
    other = tmp_path / "other-sensor.csv"
    synthetic_frame(seed=1).to_csv(other, index=False)
    return tiny_config.model_copy(update={"data": tiny_config.data.model_copy(update={"path": str(other)})})


@pytest.mark.parametrize(
    ("change", "difference", "recorded"),
    [
        (lambda config, _: tiny(config, **{"window.horizon": 6}), "horizon 6 vs 12", True),
        # a champion registered before jobs were recorded: its job comes from its bundle and its run
        (_other_file, "data 'other-sensor' vs 'series'", False),
    ],
    ids=["another horizon", "another data set, champion without job tags"],
)
def test_a_champion_of_another_job_is_kept_and_the_new_version_registered(
    tiny_config, tracking, tmp_path, change, difference, recorded
):
    first = train_flow(tiny_config)
    client = MlflowClient(tracking, registry_uri=tracking)
    if not recorded:
        for key in [k for k in client.get_model_version(NAME, "1").tags if k.startswith("job.")]:
            client.delete_model_version_tag(NAME, "1", key)

    second = train_flow(change(tiny_config, tmp_path))

    assert first["promoted"] and second["model_version"] == "2" and not second["promoted"]
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    assert second["champion_version"] == "1"
    reason = second["promotion_reason"]
    assert reason == (
        f"champion v1 forecasts another job (this run vs it: {difference}), so it stays; give this job its"
        " own name: --set registry.model_name=NAME"
    )
    assert client.get_model_version(NAME, "2").tags["promotion"] == reason
    # said before training too
    said = "This run's version will not be promoted: champion v1 forecasts another job"
    assert any(warning.startswith(said) for warning in second["warnings"])


def test_bad_data_fails_the_flow_and_the_mlflow_run_and_registers_nothing(tiny_config, tracking, tmp_path):
    frame = synthetic_frame()
    frame.loc[100, "y"] = np.nan
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    config = tiny_config.model_copy(deep=True)
    config.data.path = str(bad)

    state = train_flow(config, return_state=True)
    assert state.is_failed()
    client = MlflowClient(tracking, registry_uri=tracking)
    runs = client.search_runs([client.get_experiment_by_name(config.registry.experiment).experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert client.search_registered_models() == []


def test_the_mlflow_dataset_digest_is_the_data_digest_tag(tiny_config, tracking):
    from tasks.data import ingest

    # an experiment of this store: an earlier test's flow left another store's experiment active
    with mlflow.start_run(experiment_id=mlflow.create_experiment("ingest")) as active:
        series = ingest.fn(tiny_config.data)

    run = MlflowClient(tracking, registry_uri=tracking).get_run(active.info.run_id)
    # one digest for one data set: the UI's dataset panel shows the data.digest tag's value
    assert run.inputs.dataset_inputs[0].dataset.digest == run.data.tags["data.digest"] == series.digest()


def test_links_never_carry_the_tracking_password():
    from tracking.urls import without_credentials

    assert (
        without_credentials("https://alice:s3cret@mlflow.example:5000/x") == "https://mlflow.example:5000/x"
    )
    assert without_credentials("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    database = "postgresql+psycopg://alice:s3cret@db:5432/mlflow?password=s3cret&sslmode=require"
    assert without_credentials(database) == "postgresql+psycopg://db:5432/mlflow?sslmode=require"
    assert without_credentials("postgresql+psycopg://alice:s3cret@db:x/m") == "postgresql+psycopg://db:x/m"


def test_a_long_table_trains_one_registered_model_and_forecasts_every_series(tmp_path, tracking, bilstm):
    config = write_shaped(tmp_path, "many", **{"train.epochs": 1, "registry.gate_metric": "owa"})
    history = config.data.path
    summary = train_flow(config)

    client = MlflowClient(tracking, registry_uri=tracking)
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    assert summary["series"] == 3 and summary["model_version"] == "1" and summary["promoted"]
    # gated on M4's OWA (registry.gate_metric), not on the scaled MSE
    assert summary["promotion_reason"].startswith(f"test OWA {run.data.metrics['test_owa']:.4f} beats")
    assert run.data.tags["data.series"] == "3" and run.data.tags["data.series_column"] == "id"
    # positive series, not counts: not floored; one validation window per series supports neither band level
    assert run.data.tags["data.nonnegative_targets"] == "none"
    assert any(w.startswith("the 80 % and 95 % bands need at least 4 and 19") for w in summary["warnings"])
    by_series = pd.read_csv(
        mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/metrics_by_series.csv")
    )
    assert list(by_series["id"]) == ["a", "b", "c"]
    assert run.data.metrics["test_smape"] == by_series["smape"].mean()
    for key in ("test_owa", "naive2_test_smape", "seasonal_naive_test_mase", "test_coverage_95"):
        assert key in run.data.metrics, key
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert artifacts == {"plots/loss_curve.png", "plots/forecast.png"}
    version = client.get_model_version("bilstm-forecaster", "1")
    assert version.tags["job.series_column"] == "id"
    signature = mlflow.models.get_model_info("models:/bilstm-forecaster/1").signature
    assert [c.name for c in signature.inputs.inputs] == ["id", "ds", "y"]
    assert [c.name for c in signature.outputs.inputs][:3] == ["id", "ds", "step"]

    result = bilstm(
        "forecast", "--data", history, "--output", "forecast.csv", "--plot", "forecast.png", "--json"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["rows"] == 36 and printed["plot"] == str(tmp_path / "forecast.png")
    assert (tmp_path / "forecast.png").read_bytes().startswith(b"\x89PNG")
    assert "plots/forecast.png" in {a.path for a in client.list_artifacts(printed["run_id"], "plots")}
    forecast = pd.read_csv(tmp_path / "forecast.csv", parse_dates=["ds"])
    last = long_frame().groupby("id")["ds"].max()
    firsts = forecast[forecast.step == 1].set_index("id")["ds"]
    assert (firsts == last + pd.Timedelta(hours=1)).all()

    long_frame().drop(columns="id").to_csv(tmp_path / "one.csv", index=False)
    result = bilstm("forecast", "--data", str(tmp_path / "one.csv"), "--output", "other.csv")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert errors == [
        f"error: {tmp_path / 'one.csv'}: series column 'id' not found; available: ds, y; the model reads its"
        " series column 'id': pass a history with it"
    ]
    assert not (tmp_path / "other.csv").exists()
    assert [str(v.version) for v in client.search_model_versions("name='bilstm-forecaster'")] == ["1"]

    # the champion scored on OWA too, on the next run's windows
    second = train_flow(tiny(config, **{"train.seed": 1}))
    champion_owa = client.get_run(second["run_id"]).data.metrics["champion_test_owa"]
    assert f"{champion_owa:.4f}" in second["promotion_reason"]
