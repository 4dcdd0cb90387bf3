"""The backtest gate (`registry.gate: backtest`): the coverage check, and the training flow comparing the
challenger's folds with the champion re-scored on the same folds, on real Prefect and MLflow."""

from __future__ import annotations

import statistics

import pytest
from mlflow import MlflowClient

from bilstm import backtest
from bilstm.data import load_series
from bilstm.defaults import resolve
from bilstm.folds import BacktestOptions, plan_folds
from bilstm.gate import coverage_miss
from flows.train import train_flow
from tests.helpers import tiny
from tracking.models import registered_forecaster


def test_coverage_within_the_tolerance_of_the_widest_level_passes_and_beyond_it_is_named():
    means = {"mean_coverage_80": 0.70, "mean_coverage_95": 0.93}
    assert coverage_miss(means, [80, 95], 0.05) is None  # only the widest level is checked
    assert coverage_miss({}, [], 0.05) is None  # no intervals: nothing to check
    miss = coverage_miss(means, [80, 95], 0.01)
    assert miss == (
        "mean 95 % interval coverage over the folds 0.930 is not within 0.01 of 0.95"
        " (registry.coverage_tolerance)"
    )


def test_the_backtest_gate_scores_the_champion_on_the_challengers_folds(tiny_config, tracking):
    config = tiny(
        tiny_config,
        **{
            "registry.gate": "backtest",
            "registry.gate_folds": 2,
            "registry.coverage_tolerance": 0.5,
            "train.epochs": 2,
        },
    )
    first = train_flow(config)
    assert first["promoted"], first["promotion_reason"]
    assert first["promotion_reason"].startswith("mean MSE over 2 backtest folds")

    second = train_flow(tiny(config, **{"train.seed": 1}))

    client = MlflowClient(tracking)
    run = client.get_run(second["run_id"])
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{second['run_id']}'"
    )
    assert sorted(c.data.tags["backtest.fold"] for c in children) == ["0", "1"]
    # the champion (the first run's model, as registered) re-scored on the second run's folds, not retrained
    series = load_series(config.data)
    resolved = resolve(config, series).config
    folds = plan_folds(series, resolved, BacktestOptions(folds=2))
    champion = registered_forecaster(f"models:/{config.registry.model_name}/1")
    expected = statistics.fmean(
        backtest.score_fold(champion, series, resolved, fold).metrics["test_mse_scaled"] for fold in folds
    )
    assert run.data.metrics["champion_test_mse_scaled"] == pytest.approx(expected, rel=1e-6)
    challenger = run.data.metrics["mean_test_mse_scaled"]
    assert second["promoted"] == (challenger < expected)
    against = f"champion {expected:.4f}" if second["promoted"] else f"the champion's {expected:.4f}"
    assert against in second["promotion_reason"]
