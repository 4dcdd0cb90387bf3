"""The batch-forecast flow and `bilstm forecast`: the champion forecasts the steps after the history."""

import shutil

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from flows.forecast import FORECAST_EXPERIMENT, forecast_flow
from flows.train import train_flow
from tests.conftest import synthetic_frame


@pytest.fixture
def champion(tiny_config, tracking):
    return train_flow(tiny_config)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_forecast_continues_the_series_with_the_champion(champion, synthetic_csv, tracking, tmp_path, suffix):
    output = tmp_path / f"forecast{suffix}"
    summary = forecast_flow(data=synthetic_csv, output=str(output))

    table = pd.read_csv(output, parse_dates=["timestamp"]) if suffix == ".csv" else pd.read_parquet(output)
    history = synthetic_frame()
    expected = pd.date_range(history.timestamp.iloc[-1], periods=13, freq="h")[1:]
    assert list(table.columns) == ["timestamp", "step", "y"]
    assert len(table) == 12 == summary["rows"]
    assert (pd.to_datetime(table.timestamp) == expected).all()
    assert np.isfinite(table.y).all()

    client = MlflowClient(tracking, registry_uri=tracking)
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == FORECAST_EXPERIMENT
    assert output.name in {a.path for a in client.list_artifacts(run.info.run_id)}


def test_unknown_alias_fails_and_writes_nothing(champion, synthetic_csv, tracking, tmp_path):
    output = tmp_path / "forecast.csv"
    state = forecast_flow(
        model_uri="models:/bilstm-forecaster@nonexistent",
        data=synthetic_csv,
        output=str(output),
        return_state=True,
    )
    assert state.is_failed()
    assert not output.exists()


def test_forecast_cli_writes_the_file_and_prints_json(champion, synthetic_csv, tmp_path, bilstm):
    output = tmp_path / "out.parquet"
    result = bilstm("forecast", "--data", synthetic_csv, "--output", str(output), "--json")
    assert result.returncode == 0, result.stderr
    assert len(pd.read_parquet(output)) == 12
    assert '"rows": 12' in result.stdout.strip().splitlines()[-1]


def test_a_champion_whose_artifacts_are_gone_fails_clearly_and_writes_nothing(
    champion, synthetic_csv, tracking, tmp_path, bilstm
):
    client = MlflowClient(tracking, registry_uri=tracking)
    version = client.get_model_version_by_alias("bilstm-forecaster", "champion").version
    location = client.get_model_version_download_uri("bilstm-forecaster", version)
    shutil.rmtree(location.removeprefix("file://"))  # the file-based artifact store lost the model
    output = tmp_path / "forecast.csv"

    result = bilstm("forecast", "--data", synthetic_csv, "--output", str(output))

    assert result.returncode == 2, result.stderr[-3000:]
    expected = f"error: models:/bilstm-forecaster@champion: the artifacts of version {version} are missing"
    assert expected in result.stderr
    assert not output.exists() and not list(tmp_path.glob("*.partial"))
