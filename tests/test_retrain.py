"""What a retrain trains: the config the champion's run recorded (whole in `config.json`, or rebuilt from
the params of a run from before configs were kept whole), with its data path absolute; a model name without
a champion fails the retrain flow before anything is trained or registered. The retrain that the degraded
event triggers, end to end on `bilstm dashboard`'s servers, is in tests/test_dashboard.py."""

import json
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from bilstm.config import PipelineConfig, flatten
from tests.helpers import tiny
from tracking.configs import NothingToRetrainError, champion_config, record_config
from tracking.recorded_config import for_the_record, from_params

NAME = "bilstm-forecaster"
ODD = {"data.timezone": "+05:30", "data.features": ["x"], "intervals.levels": [90.0], "train.amp": False}


def test_a_config_is_rebuilt_from_its_params_as_mlflow_wrote_them():
    config = tiny(**ODD, **{"data.path": "/data/series.csv", "registry.model_name": "123"})
    params = {key: str(value) for key, value in flatten(config).items()} | {"split.train_end": "840"}
    assert from_params(params) == config
    assert from_params({}) == PipelineConfig()  # a key not logged keeps its default


def test_a_relative_data_path_is_recorded_absolute_and_a_uri_as_it_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert for_the_record(tiny(**{"data.path": "series.csv"})).data.path == str(tmp_path / "series.csv")
    for kept in ("s3://bucket/series.parquet", "/data/series.csv", None):
        assert for_the_record(tiny(**{"data.path": kept})).data.path == kept


def champion_run(client: MlflowClient, run_id: str) -> str:
    """Register the run's (model-less) version of NAME and make it the champion; returns the version."""
    if not client.search_registered_models(f"name = '{NAME}'"):
        client.create_registered_model(NAME)
    version = client.create_model_version(NAME, f"{client.get_run(run_id).info.artifact_uri}/model", run_id)
    client.set_registered_model_alias(NAME, "champion", version.version)
    return str(version.version)


def test_the_champions_config_is_read_whole_or_from_an_older_runs_params(store, tmp_path, monkeypatch):
    mlflow.set_tracking_uri(store)
    mlflow.set_registry_uri(store)
    client = MlflowClient()
    experiment = client.create_experiment("records")  # not the active one an earlier test left set
    with pytest.raises(NothingToRetrainError, match=f"registered model '{NAME}' has no champion to retrain"):
        champion_config(NAME)

    older = tiny(**ODD, **{"data.path": str(tmp_path / "old.csv")})
    with mlflow.start_run(experiment_id=experiment) as run:  # before configs were kept whole: params only
        mlflow.log_params(flatten(older))
    version = champion_run(client, run.info.run_id)
    assert champion_config(NAME) == (version, older)

    monkeypatch.chdir(tmp_path)
    newer = tiny(**ODD, **{"data.path": "new.csv"})
    with mlflow.start_run(experiment_id=experiment) as run:
        record_config(newer)
    version = champion_run(client, run.info.run_id)
    monkeypatch.chdir(tmp_path.parent)  # the retrain runs elsewhere, and reads the same file
    absolute = tiny(**ODD, **{"data.path": str(tmp_path / "new.csv")})
    assert champion_config(NAME) == (version, absolute)
    recorded = Path(mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/config.json"))
    assert json.loads(recorded.read_text()) == absolute.model_dump(mode="json")


def test_a_model_without_a_champion_fails_the_retrain_and_registers_nothing(tracking):
    from flows.retrain import retrain_flow

    state = retrain_flow(model_name="nobody", return_state=True)
    assert state.is_failed()
    with pytest.raises(NothingToRetrainError, match="'nobody' has no champion to retrain; train one first"):
        state.result()
    client = MlflowClient(tracking, registry_uri=tracking)
    assert client.search_registered_models() == []
    assert [experiment.name for experiment in client.search_experiments()] == ["Default"]  # no run anywhere
