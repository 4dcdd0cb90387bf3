"""The monitor's core without Prefect or MLflow: the band rule, PSI drift and its thresholds, rolling-origin
and recorded-forecast scoring with the model's own scaler, and the verdict, on a forecaster trained for one
epoch on the synthetic series; and on one trained on a long table of three series, one of which drifts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bilstm import pipeline
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.drift import PSI_FLOOR, ColumnReference, DriftReference
from bilstm.errors import MonitorInputError
from bilstm.monitor import (
    RECORDED,
    ROLLING,
    default_window,
    first_target_row,
    judge,
    recorded_scores,
    rolling_scores,
)
from bilstm.monitored_series import pooled, score_series, series_bands, stretch_rows
from bilstm.promise import QUANTILE, TOLERANCE, band, promise_of
from bilstm.recorded import last_stamps, record
from tests.helpers import data_config, long_frame, shaped_config, synthetic_frame, tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny job trained for one epoch: (forecaster, its promise, the prepared split, the series)."""
    path = tmp_path_factory.mktemp("monitor") / "series.csv"
    synthetic_frame().to_csv(path, index=False)
    config = tiny(
        **{"data.path": str(path), "data.time_column": "timestamp", "data.targets": ["y"], "train.epochs": 1}
    )
    series = load_table(data_config(str(path)))
    config = resolve(config, series).config
    prepared = pipeline.split_and_scale(series, config)
    forecaster = pipeline.new_forecaster(prepared, config)
    pipeline.fit_forecaster(forecaster, pipeline.make_train_windows(prepared, config), config, progress=False)
    evaluation = pipeline.evaluate_forecaster(forecaster, prepared)
    return forecaster, promise_of(evaluation, prepared), prepared, series, evaluation


def test_the_threshold_is_the_tolerance_times_the_99th_percentile_of_the_promised_stretch_means():
    promised = np.arange(10.0)
    offsets = np.array([0, 2, 3])  # windows at rows t, t + 2, t + 3 of every stretch
    result = band(promised, offsets)

    means = np.array([promised[[j, j + 2, j + 3]].mean() for j in range(7)])
    assert result.expected == 4.5
    assert result.high == pytest.approx(np.quantile(means, QUANTILE))
    assert result.threshold == pytest.approx(TOLERANCE * result.high)
    assert result.test_false_alarm_rate == 0.0  # no test stretch is above the threshold


def test_a_stretch_longer_than_the_promised_test_windows_is_refused_naming_the_window():
    with pytest.raises(MonitorInputError, match=r"--window: the monitored windows span 11 rows .* 10 test"):
        band(np.ones(10), np.arange(11))


def test_psi_is_near_zero_on_the_train_rows_and_largest_beyond_their_range():
    rng = np.random.default_rng(0)
    train = rng.normal(size=5000)
    column = ColumnReference.fit(train, rng.normal(size=2000))

    assert column.psi(train) == pytest.approx(0.0, abs=1e-9)
    in_top_decile = column.psi(np.full(100, np.quantile(train, 0.95)))
    beyond = column.psi(np.full(100, train.max() + 1))
    assert 0.25 < in_top_decile < beyond


def test_a_threshold_is_the_largest_psi_of_a_heldout_stretch_and_at_least_the_floor():
    rng = np.random.default_rng(1)
    train, heldout = rng.normal(size=5000), rng.normal(size=500)
    heldout[200:250] += 3  # one shifted stretch among the held-out rows
    column = ColumnReference.fit(train, heldout)

    largest = max(column.psi(heldout[i : i + 50]) for i in range(451))
    assert column.threshold(50) == pytest.approx(max(largest, PSI_FLOOR))
    calm = ColumnReference.fit(train, rng.normal(size=5000))
    assert calm.threshold(2000) == PSI_FLOOR  # long stretches of the train distribution stay under the floor


def test_the_drift_reference_reads_back_from_json(trained):
    _, promise, _, series, _ = trained
    again = DriftReference.from_json(promise.drift.to_json())
    rows = series.frame.iloc[-168:]
    assert again.psi(rows) == promise.drift.psi(rows) and again.thresholds(168) == promise.drift.thresholds(
        168
    )


def test_the_default_window_is_a_week_of_steps_for_data_stepping_a_day_or_less():
    assert default_window("h", 24, 24) == 168
    assert default_window("15min", 96, 96) == 672
    assert default_window("D", 24, 7) == 48  # a week of days is shorter than two horizons
    assert default_window("MS", 3, 12) == 48  # four years of months


@pytest.mark.parametrize(
    ("rows", "window", "message"),
    [
        (59, 168, r"src: 59 rows; the model needs lookback 48 \+ horizon 12 = 60 rows to score one window"),
        (1200, 1201, r"--window 1201: larger than the 1200 rows of src; pass --window 1200 or less"),
        (1200, 11, r"--window 11: shorter than the model's horizon \(12\)"),
    ],
)
def test_data_the_monitor_cannot_score_is_refused_with_the_fix(trained, rows, window, message):
    with pytest.raises(MonitorInputError, match=message):
        first_target_row(rows, trained[0], window, "src")


def test_rolling_windows_over_the_test_rows_score_what_the_model_promised(trained):
    forecaster, promise, prepared, series, evaluation = trained
    _, val_end, test_end = prepared.split.borders()
    test_rows = series.frame.iloc[:test_end]

    scores = rolling_scores(forecaster, test_rows, val_end)

    assert scores.source == ROLLING
    np.testing.assert_allclose(scores.mse, promise.mse, rtol=1e-6)
    assert scores.mse.mean() == pytest.approx(evaluation.metrics["test_mse_scaled"], rel=1e-6)
    assert scores.naive_mse.mean() == pytest.approx(evaluation.metrics["naive_test_mse_scaled"], rel=1e-6)
    assert 1 - scores.miss.mean() == pytest.approx(evaluation.metrics["test_coverage_95"], rel=1e-6)


def test_recorded_forecasts_whose_targets_arrived_score_as_the_same_rolling_windows(trained):
    forecaster, _, _, series, _ = trained
    frame, horizon = series.frame, forecaster.spec.horizon
    first_row = len(frame) - 100
    issue_rows = [first_row - 1, first_row + 20, first_row + 40, len(frame) - 5]  # the last has not arrived
    history = frame.reset_index()
    tables = [
        record(
            forecaster.predict(history.iloc[: row + 1]),
            forecaster.spec,
            ("m", "1"),
            last_stamps(forecaster.spec, history.iloc[: row + 1]),
            "s",
        )
        for row in issue_rows
    ]
    recorded = pd.concat([tables[1], *tables], ignore_index=True)  # an issue time recorded twice

    scores = recorded_scores(forecaster, frame, recorded, first_row)

    rolling = rolling_scores(forecaster, frame, first_row)
    assert scores.source == RECORDED and scores.offsets.tolist() == [0, 21, 41]
    np.testing.assert_allclose(scores.mse, rolling.mse[scores.offsets], rtol=1e-5)
    np.testing.assert_allclose(scores.naive_mse, rolling.naive_mse[scores.offsets], rtol=1e-9)
    np.testing.assert_allclose(scores.miss, rolling.miss[scores.offsets])
    assert recorded_scores(forecaster, frame, recorded, len(frame) - horizon) is None  # none arrived there


def test_the_verdict_is_healthy_on_the_clean_newest_week_and_degraded_after_the_target_drifts(trained):
    forecaster, promise, _, series, evaluation = trained
    frame = series.frame
    test_mse = evaluation.metrics["test_mse_scaled"]
    first_row = len(frame) - 168
    clean = judge(rolling_scores(forecaster, frame, first_row), promise, test_mse, frame.iloc[first_row:])
    assert not clean.degraded, clean.reasons

    drifted = frame.assign(y=frame.y.where(np.arange(len(frame)) < len(frame) - 600, frame.y * 1.8 + 5))
    verdict = judge(
        rolling_scores(forecaster, drifted, first_row), promise, test_mse, drifted.iloc[first_row:]
    )

    assert verdict.degraded
    assert verdict.realised_mse > verdict.error_band.threshold > verdict.error_band.expected
    assert verdict.reasons[0].startswith(f"realised MSE {verdict.realised_mse:.4f} is above the threshold")
    assert verdict.drift["x"] == clean.drift["x"]  # the feature did not change


def test_without_a_promise_the_threshold_falls_back_on_the_test_mse_and_nothing_else_is_checked(trained):
    forecaster, _, _, series, _ = trained
    frame = series.frame
    verdict = judge(rolling_scores(forecaster, frame, len(frame) - 168), None, 0.01, frame.iloc[-168:])
    assert verdict.error_band.threshold == pytest.approx(0.025) and verdict.drift == {}
    assert verdict.coverage_band is None and verdict.coverage_95 is not None


def test_many_series_are_judged_over_all_and_each_against_its_own_band_naming_the_drifting_one(tmp_path):
    path = tmp_path / "long.csv"
    frame = long_frame({"a": 400, "b": 400, "c": 400})
    frame.to_csv(path, index=False)
    config = shaped_config(path, "many", **{"train.epochs": 1, "data.test_steps": 36})
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = pipeline.split_and_scale(series, config)
    forecaster = pipeline.new_forecaster(prepared, config)
    pipeline.fit_forecaster(forecaster, pipeline.make_train_windows(prepared, config), config, progress=False)
    evaluation = pipeline.evaluate_forecaster(forecaster, prepared)
    promise = promise_of(evaluation, prepared)
    assert promise.series.tolist() == ["a"] * 25 + ["b"] * 25 + ["c"] * 25  # 36 - 12 + 1 test windows each
    drifted = frame.assign(
        y=frame.y.where((frame.id != "c") | (frame.groupby("id").cumcount() < 340), frame.y * 1.8 + 5)
    )
    drifted.to_csv(tmp_path / "drifted.csv", index=False)
    test_mse = evaluation.metrics["test_mse_scaled"]

    verdicts = []
    for data in (path, tmp_path / "drifted.csv"):
        table = load_table(config.data.model_copy(update={"path": str(data)}))
        first_rows = table.lengths - 24  # the last day of each series: 13 windows
        scored = score_series(forecaster, table, first_rows, None)
        stretch = stretch_rows(table, first_rows)
        verdict = judge(pooled(scored), promise.pooled(), test_mse, table.frame.iloc[stretch])
        verdicts.append((verdict, series_bands(scored, table.ids, promise, verdict.error_band)))

    (clean, clean_series), (drift, drift_series) = verdicts
    assert not clean.degraded and not clean_series["degraded"].any(), clean.reasons
    np.testing.assert_allclose(clean.realised_mse, promise.pooled().mse[-13:].mean(), rtol=1e-5)
    assert drift.degraded and drift.reasons[0].startswith("realised MSE")
    assert drift_series.loc[drift_series["degraded"], "series"].tolist() == ["c"]
    assert drift_series["windows"].tolist() == [13, 13, 13]
