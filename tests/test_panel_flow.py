"""Many series end to end: the training flow on a long table (real Prefect test server, real MLflow SQLite
store) registers one global model with per-series metrics, gated on OWA (the next run's champion scored on
OWA too), and `bilstm forecast` forecasts every series of a long history after its own last stamp, plotting
the first few; a history without the series column exits 2, the registry untouched."""

import json

import mlflow
import pandas as pd
from mlflow import MlflowClient

from flows.train import train_flow
from tests.helpers import tiny
from tests.test_panel import long_frame, panel_config


def test_a_long_table_trains_one_registered_model_and_forecasts_every_series(tmp_path, tracking, bilstm):
    history = tmp_path / "long.csv"
    long_frame().to_csv(history, index=False)
    config = panel_config(history, **{"train.epochs": 1, "registry.gate_metric": "owa"})
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
        "forecast", "--data", str(history), "--output", "forecast.csv", "--plot", "forecast.png", "--json"
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
