"""The champion gate: its score by `registry.gate_metric` (the challenger, the baselines and the champion
scored with the same metric on the same windows, of one series and of many; OWA only where a season is),
the backtest gate's coverage check, and the training flow comparing the challenger's folds with the champion
re-scored on the same folds, on real Prefect and MLflow."""

from __future__ import annotations

import statistics

import pytest
from mlflow import MlflowClient

from bilstm import backtest, gate, pipeline
from bilstm.config import with_overrides
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.errors import DataValidationError
from bilstm.evaluation import promotion_decision
from bilstm.folds import BacktestOptions, plan_folds
from bilstm.gate import coverage_miss
from flows.train import train_flow
from tests.helpers import SHAPES, long_table, tiny, write_shaped, write_table
from tracking.models import registered_forecaster


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("gate_metric", "measure", "key"),
    [("mse", "MSE", "mse_scaled"), ("mase", "MASE", "mase"), ("owa", "OWA", "owa")],
)
def test_the_gate_metric_scores_challenger_baselines_and_champion_alike_on_the_same_windows(
    tmp_path, shape, gate_metric, measure, key
):
    config = write_shaped(tmp_path, shape, **{"registry.gate_metric": gate_metric})
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = pipeline.split_and_scale(series, config)
    challenger = pipeline.new_forecaster(prepared, config)
    champion = pipeline.new_forecaster(prepared, tiny(config, **{"train.seed": 1}))
    evaluation = pipeline.evaluate_forecaster(challenger, prepared)

    evidence = gate.single_split(evaluation, prepared, gate_metric)

    if shape == "many" and gate_metric != "owa":
        measure += " (mean over series)"  # OWA is a ratio of means over series already
    assert (evidence.measure, evidence.metric) == (f"test {measure}", f"test_{key}")
    scores = (evidence.challenger, evidence.naive, evidence.seasonal_naive)
    metrics = evaluation.metrics
    assert scores == tuple(metrics[f"{prefix}test_{key}"] for prefix in ("", "naive_", "seasonal_naive_"))
    champion_score = evidence.score(champion)
    assert champion_score == pipeline.evaluate_forecaster(champion, prepared).metrics[f"test_{key}"]
    _, reason = promotion_decision(*scores, champion_score, evidence.measure)
    assert reason.startswith(f"test {measure} {evidence.challenger:.4f} ")


@pytest.mark.parametrize("shape", SHAPES)
def test_gating_on_owa_without_a_season_is_refused_before_training(tmp_path, shape):
    config = write_shaped(tmp_path, shape, **{"data.seasonal_period": 1})
    series = load_table(config.data)
    resolve(config, series)  # the scaled MSE needs no season
    with pytest.raises(
        DataValidationError, match=r"registry\.gate_metric owa needs a seasonal period above 1"
    ):
        resolve(with_overrides(config, {"registry.gate_metric": "owa"}), series)


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
    series = load_table(config.data)
    resolved = resolve(config, series).config
    _, folds = plan_folds(series, resolved, BacktestOptions(folds=2))
    champion = registered_forecaster(f"models:/{config.registry.model_name}/1")
    expected = statistics.fmean(
        backtest.score_fold(champion, series, resolved, fold).metrics["test_mse_scaled"] for fold in folds
    )
    assert run.data.metrics["champion_test_mse_scaled"] == pytest.approx(expected, rel=1e-6)
    challenger = run.data.metrics["mean_test_mse_scaled"]
    assert second["promoted"] == (challenger < expected)
    against = f"champion {expected:.4f}" if second["promoted"] else f"the champion's {expected:.4f}"
    assert against in second["promotion_reason"]


def test_the_backtest_gate_of_a_many_series_train_scores_the_means_over_series_on_its_folds(
    tiny_config, tracking, tmp_path
):
    data = write_table(tmp_path, long_table({"a": 150, "b": 130, "c": 200}))
    many = {"data.path": data, "data.series_column": "id", "train.epochs": 1}
    gated = {"registry.gate": "backtest", "registry.gate_folds": 2, "registry.coverage_tolerance": 0.5}

    summary = train_flow(tiny(tiny_config, **many, **gated))

    assert summary["promotion_reason"].startswith("mean MSE over 2 backtest folds ")
    client = MlflowClient(tracking)
    run = client.get_run(summary["run_id"])
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{summary['run_id']}'"
    )
    assert sorted(c.data.tags["backtest.fold"] for c in children) == ["0", "1"]
    assert all(c.data.params["test_rows"] == str(3 * 12) for c in children)  # 12 rows of each series
    folds = [c.data.metrics["test_mse_scaled"] for c in children]
    assert run.data.metrics["mean_test_mse_scaled"] == pytest.approx(statistics.fmean(folds))
