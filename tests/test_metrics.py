"""Metrics by hand and beside scikit-learn, per window of one series or many; baselines (persistence, seasonal
naive, Naive2) right on hand-checkable series; a trained model's evaluation of many series, per series and
over all, beside the baselines on the same windows; the gate's promotion rule."""

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from bilstm import metrics
from bilstm.evaluation import baseline_shortfalls, evaluate, promotion_decision


def test_window_scores_pooled_over_equal_windows_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    truth, pred = rng.normal(size=(10, 4, 2)), rng.normal(size=(10, 4, 2))
    units = np.full((10, 2), 2.0)
    scores = metrics.window_scores(truth, pred, units, mase_scales=np.ones((10, 2)))
    assert scores["mse"].mean() == pytest.approx(mean_squared_error(truth.ravel(), pred.ravel()))
    assert scores["mae"].mean() == pytest.approx(mean_absolute_error(truth.ravel(), pred.ravel()))
    assert scores["mse_scaled"].mean() == pytest.approx(scores["mse"].mean() / 4)
    np.testing.assert_allclose(scores["mase"], scores["mae"])


def test_smape_and_mase_by_hand():
    truth, pred = np.array([[[100.0]], [[0.0]]]), np.array([[[110.0]], [[0.0]]])
    np.testing.assert_allclose(metrics.smape(truth, pred), [100 * (20 / 210), 0.0])
    targets = np.array([[1.0], [3.0], [2.0], [6.0], [9.0]])
    # in-sample rows 0-3 (before the first test target): |2 - 1|, |6 - 3| at lag 2
    np.testing.assert_allclose(metrics.mase_scales(targets, np.array([0]), np.array([4]), 2), [[2.0]])


def test_interval_scores_per_window_name_each_level():
    truth = np.array([0.0, 5.0, -3.0]).reshape(3, 1, 1)
    lo, hi = np.full_like(truth, -1.0), np.full_like(truth, 1.0)
    scores = metrics.interval_scores(truth, {95: (lo, hi)}, np.full((3, 1), 0.5), np.full((3, 1), 2.0))
    np.testing.assert_allclose(scores["coverage_95"], [1, 0, 0])
    np.testing.assert_allclose(scores["width_95_scaled"], [4, 4, 4])
    # width 2 each; misses of 4 above and 2 below cost 2 / 0.05 = 40 per unit; over the MASE scale 2
    np.testing.assert_allclose(scores["msis_95"], [1, (2 + 40 * 4) / 2, (2 + 40 * 2) / 2])


def test_by_horizon_has_one_row_per_step():
    truth = np.zeros((5, 3, 1))
    pred = truth + np.array([1.0, 2.0, 3.0])[None, :, None]
    table = metrics.by_horizon(truth, pred, np.ones((5, 1)), {80: (truth - 1, truth + 1)})
    assert table["step"].tolist() == [1, 2, 3]
    assert table["mse"].tolist() == [1.0, 4.0, 9.0]
    assert table["coverage_80"].tolist() == [1.0, 1.0, 1.0]


def test_naive_repeats_the_last_value():
    values = np.arange(10.0)[:, None]
    naive = metrics.naive_forecast(values, first_target=5, windows=2, horizon=3)
    np.testing.assert_array_equal(naive[:, :, 0], [[4, 4, 4], [5, 5, 5]])


def test_baselines_of_windows_of_two_series_never_read_the_other_series():
    targets = np.concatenate([np.arange(1.0, 11.0), 100 + np.arange(10.0)])[:, None]
    first, first_rows, series = np.array([0, 10]), np.array([8, 18]), np.array([0, 1])
    made = metrics.baselines(targets, first, np.array([8, 18]), first_rows, series, horizon=2, period=3)
    np.testing.assert_array_equal(made["naive"][:, :, 0], [[8, 8], [107, 107]])
    np.testing.assert_array_equal(made["seasonal_naive"][:, :, 0], [[6, 7], [105, 106]])
    # a trend, no season: Naive2 is persistence
    np.testing.assert_array_equal(made["naive2"], made["naive"])


def test_promotion_needs_to_beat_persistence_seasonal_naive_and_the_champion():
    assert promotion_decision(0.03, 0.05, 0.04, None)[0]
    assert promotion_decision(0.03, 0.05, 0.04, 0.035)[0]
    promoted, reason = promotion_decision(0.036, 0.05, 0.04, 0.035)
    assert not promoted and "champion's 0.0350" in reason
    promoted, reason = promotion_decision(0.05, 0.06, 0.04, None)
    assert not promoted and "seasonal naive 0.0400" in reason
    # the daily case a user hit: better than seasonal naive, worse than persistence
    promoted, reason = promotion_decision(0.4621, 0.4537, 0.6, None)
    assert not promoted and reason == "test MSE 0.4621 does not beat persistence 0.4537"


def test_promotion_names_its_measure_and_refuses_intervals_off_nominal():
    promoted, reason = promotion_decision(0.03, 0.05, 0.04, 0.035, "mean MSE over 4 backtest folds")
    assert promoted and reason.startswith("mean MSE over 4 backtest folds 0.0300 beats persistence")
    miss = "mean 95 % interval coverage over the folds 0.850 is not within 0.05 of 0.95"
    assert promotion_decision(0.03, 0.05, 0.04, 0.035, "mean MSE", miss) == (False, miss)
    # a worse MSE is the first reason given, whatever the coverage
    assert "does not beat the champion's" in promotion_decision(0.04, 0.05, 0.045, 0.035, "mean MSE", miss)[1]


def test_promotion_on_mase_compares_mase_and_says_so():
    promoted, reason = promotion_decision(0.91, 1.2, 1.0, 0.95, "test MASE")
    assert promoted and reason == (
        "test MASE 0.9100 beats persistence 1.2000, seasonal naive 1.0000 and champion 0.9500"
    )
    assert promotion_decision(0.96, 1.2, 1.0, 0.95, "test MASE") == (
        False,
        "test MASE 0.9600 does not beat the champion's 0.9500",
    )


def test_a_model_that_loses_to_seasonal_naive_on_smape_or_mase_is_warned_of_though_its_mse_wins():
    # the many-series run the gate promoted on its scaled MSE alone: sMAPE 66.6 against 28.4
    metrics = {
        "test_mse_scaled": 0.5,
        "naive_test_mse_scaled": 0.9,
        "seasonal_naive_test_mse_scaled": 0.7,
        "test_smape": 66.6,
        "seasonal_naive_test_smape": 28.4,
        "test_mase": 1.5,
        "seasonal_naive_test_mase": 1.1,
    }
    assert baseline_shortfalls(metrics) == [
        "the model does not beat seasonal naive: test sMAPE 66.60 vs 28.40",
        "the model does not beat seasonal naive: test MASE 1.5000 vs 1.1000",
    ]
    assert baseline_shortfalls(metrics | {"test_smape": 20.0, "test_mase": 0.9}) == []
    # the backtest's means (no sMAPE there), in its words
    means = {"test_mse_scaled": 1.0, "naive_test_mse_scaled": 0.9, "seasonal_naive_test_mse_scaled": 1.2}
    assert baseline_shortfalls(
        means | {"test_mase": 1.3, "seasonal_naive_test_mase": 1.2}, "mean test {} over the folds"
    ) == [
        "the model does not beat persistence: mean test MSE over the folds 1.0000 vs 0.9000",
        "the model does not beat seasonal naive: mean test MASE over the folds 1.3000 vs 1.2000",
    ]


def test_evaluation_scores_every_series_and_the_baselines_on_the_same_windows(trained_on):
    forecaster, prepared = trained_on("many")
    evaluation = evaluate(forecaster, prepared)
    by_series, scores = evaluation.by_series, evaluation.metrics
    assert list(by_series["id"]) == ["a", "b", "c"] and list(by_series["windows"]) == [1, 1, 1]
    assert scores["test_smape"] == pytest.approx(by_series["smape"].mean())
    owa = 0.5 * (
        scores["test_smape"] / scores["naive2_test_smape"] + scores["test_mase"] / scores["naive2_test_mase"]
    )
    assert scores["test_owa"] == pytest.approx(owa)
    # the baselines on the same windows: persistence repeats the last input, seasonal naive the day before
    values = prepared.series.frame["y"].to_numpy()
    for window, first in enumerate(evaluation.first_rows):
        number = evaluation.series[window]
        naive_mae = np.abs(evaluation.truth[window, :, 0] - values[first - 1]).mean()
        seasonal_mae = np.abs(evaluation.truth[window, :, 0] - values[first - 24 : first - 12]).mean()
        scale = prepared.scaler.scale[number, 0]
        assert by_series.loc[window, "naive_mae_scaled"] == pytest.approx(naive_mae / scale)
        assert by_series.loc[window, "seasonal_naive_mae_scaled"] == pytest.approx(seasonal_mae / scale)
    assert scores["test_mse_scaled"] < scores["naive_test_mse_scaled"]
