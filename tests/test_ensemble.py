"""Ensembles (`model.ensemble`): the member grid, members of shorter lookbacks, the median or the mean
picked on validation, the bundle round trip, and one training flow that logs every member."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
import torch
from mlflow import MlflowClient
from pydantic import ValidationError

from bilstm.config import ModelConfig, TrainConfig
from bilstm.ensemble import Ensemble, choose_combination, combine, plan_members
from bilstm.forecaster import Forecaster
from bilstm.model import BiLSTMNet
from bilstm.pipeline import run as run_pipeline
from flows.train import train_flow
from tests.helpers import tiny

ENSEMBLE = {
    "model.ensemble": 3,
    "model.ensemble_lookbacks": [24, 48],
    "model.ensemble_norms": ["last", "revin"],
    "train.epochs": 2,
    "intervals.levels": [0.8],
}


def test_members_take_lookbacks_in_turn_then_losses_with_a_seed_each():
    model = ModelConfig(ensemble=6, ensemble_lookbacks=[168, 336], ensemble_losses=["mae", "mse"])
    members = plan_members(model, TrainConfig(seed=10), 336)
    assert [(m.seed, m.lookback, m.loss) for m in members] == [
        (10, 168, "mae"),
        (11, 336, "mae"),
        (12, 168, "mse"),
        (13, 336, "mse"),
        (14, 168, "mae"),
        (15, 336, "mae"),
    ]
    plain = plan_members(ModelConfig(ensemble=2, instance_norm="revin"), TrainConfig(loss="huber"), 96)
    assert [(m.seed, m.lookback, m.loss, m.norm) for m in plain] == [
        (0, 96, "huber", "revin"),
        (1, 96, "huber", "revin"),
    ]
    norms = ModelConfig(ensemble=4, ensemble_losses=["mae", "mse"], ensemble_norms=["revin", "log_ratio"])
    assert [(m.loss, m.norm) for m in plan_members(norms, TrainConfig(), 24)] == [
        ("mae", "revin"),
        ("mse", "revin"),
        ("mae", "log_ratio"),
        ("mse", "log_ratio"),
    ]


def test_a_member_lookback_longer_than_the_windows_is_refused_with_the_fix():
    with pytest.raises(ValidationError, match="set window.lookback to 96"):
        tiny(**{"model.ensemble": 2, "model.ensemble_lookbacks": [24, 96]})


def test_a_member_of_a_shorter_lookback_reads_only_the_last_rows_of_the_window():
    torch.manual_seed(0)
    member = BiLSTMNet(ModelConfig(hidden_size=8, patch_len=4), 1, 1, 6, 12).eval()
    x = torch.randn(3, 24, 1)
    changed = x.clone()
    changed[:, :12] += 5.0  # rows before the member's 12
    torch.testing.assert_close(member(changed), member(x))
    torch.testing.assert_close(member(x), member(x[:, -12:]))


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two_and_shrugs_off_an_outlier():
    outputs = torch.tensor([[1.0], [2.0], [4.0], [100.0]])
    assert combine(outputs, median=True).item() == 3.0
    assert combine(outputs, median=False).item() == 26.75
    median, losses = choose_combination(outputs, torch.tensor([3.0]), torch.nn.L1Loss())
    assert median and losses == {"median": 0.0, "mean": 23.75}


def test_the_mean_is_kept_where_it_validates_better():
    outputs = torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, 3.0]])
    median, losses = choose_combination(outputs, torch.tensor([1.0, 1.0]), torch.nn.MSELoss())
    assert not median and losses["mean"] < losses["median"]


def test_an_ensemble_trains_and_its_bundle_forecasts_as_it_did(tiny_config, tmp_path):
    config = tiny(tiny_config, **ENSEMBLE)
    forecaster, log, evaluation = run_pipeline(config, progress=False)
    assert isinstance(forecaster.model, Ensemble) and len(forecaster.model.members) == 3
    members = forecaster.model.members
    expected = [(24, "last"), (48, "last"), (24, "revin")]
    assert [(m.lookback, m.config.instance_norm) for m in members] == expected
    assert len(log.members) == 3 and set(log.combination_losses) == {"median", "mean"}
    # the members differ (seeds, lookbacks), so the ensemble is not any one of them
    history = pd.read_csv(config.data.path, parse_dates=["timestamp"])
    forecasts = [forecaster.predict(history)]
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    assert isinstance(loaded.model, Ensemble) and bool(loaded.model.median) == bool(forecaster.model.median)
    assert [m.config.instance_norm for m in loaded.model.members] == ["last", "last", "revin"]
    forecasts.append(loaded.predict(history))
    pd.testing.assert_frame_equal(forecasts[0], forecasts[1])
    assert {"y_lo_0.8", "y_hi_0.8"} <= set(forecasts[0].columns)  # bands of the combined forecast
    single = run_pipeline(tiny(tiny_config, **{"train.epochs": 2}), progress=False)[0].predict(history)
    assert not forecasts[0]["y"].equals(single["y"])


def test_the_training_flow_logs_each_member_and_registers_one_model(tiny_config, tracking):
    summary = train_flow(tiny(tiny_config, **ENSEMBLE | {"model.ensemble": 2}))
    client = MlflowClient(tracking, registry_uri=tracking)
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED" and run.data.params["model.ensemble"] == "2"
    metrics = run.data.metrics
    assert {"member_0_best_val_loss", "member_1_best_val_loss"} <= set(metrics)
    assert {"ensemble_val_loss_median", "ensemble_val_loss_mean"} <= set(metrics)
    assert run.data.tags["model.ensemble_combined_by"] in {"median", "mean"}
    epochs = [m.step for m in client.get_metric_history(run.info.run_id, "member_1_train_loss")]
    assert epochs == list(range(1, len(epochs) + 1)) and epochs
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    history = pd.read_csv(tiny_config.data.path, parse_dates=["timestamp"])
    assert len(served.predict(history)) == 12
