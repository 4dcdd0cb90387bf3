"""Split-conformal prediction intervals: the corrected quantile, nesting, coverage near nominal, MSIS, JSON
state, the `intervals.levels` config; a trained job's intervals (the default calibrator) and a forecaster
bundle with and without a calibration, and the band columns of its forecasts; many series pooled or per
series, by validation coverage, and the warning of levels too few validation windows support (one window
each). Scaled-residual intervals: `test_scaled_intervals.py`."""

import dataclasses
import json
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from bilstm.config import PipelineConfig
from bilstm.forecaster import Forecaster
from bilstm.interval_pooling import choose_pooling
from bilstm.intervals import (
    ConformalIntervals,
    calibrate,
    fewest_windows,
    shortfall_warnings,
)
from tests.helpers import write_shaped


def test_half_width_is_the_rank_ceil_n_plus_1_times_level_of_the_absolute_residuals():
    residuals = -np.arange(1.0, 20.0).reshape(19, 1, 1)  # n = 19, |r| = 1..19; the sign does not matter
    intervals = ConformalIntervals.calibrate(residuals, [80, 95])
    # ceil(20 * 0.80) = 16th and ceil(20 * 0.95) = 19th smallest
    assert intervals.quantiles[:, 0, 0].tolist() == [16.0, 19.0]
    assert intervals.n == 19 and intervals.method == "split-conformal"


def test_a_level_too_few_windows_support_is_the_largest_residual_times_a_normal_tail_factor_with_a_warning():
    # n = 12, as the airline passengers' monthly job: 80 % is rank ceil(13 * 0.8) = 11; 95 % needs 19 windows
    intervals = ConformalIntervals.calibrate(np.arange(1.0, 13.0).reshape(12, 1, 1), [80, 95])
    z = NormalDist().inv_cdf
    assert intervals.quantiles[:, 0, 0] == pytest.approx([11.0, 12.0 * z(0.975) / z((1 + 12 / 13) / 2)])
    assert fewest_windows(80) == 4 and fewest_windows(95) == 19
    [warning] = shortfall_warnings(intervals)
    assert warning == (
        "the 95 % band needs at least 19 validation windows per horizon step, this run has 12: it is the"
        " largest validation residual times 1.11 (normal quantile ratios), without conformal's coverage"
        " guarantee; lengthen the validation split or lower intervals.levels"
    )
    enough = ConformalIntervals.calibrate(np.ones((19, 1, 1)), [80, 95])
    assert shortfall_warnings(enough) == [] and shortfall_warnings(None) == []


def test_levels_no_window_count_supports_stay_nested_and_apart_not_equal_width_duplicates():
    residuals = np.random.default_rng(3).standard_normal((2, 4, 2))
    for calibrated in (
        ConformalIntervals.calibrate(residuals, [80, 95]),
        calibrate("scaled-residuals", residuals, np.ones((2, 5, 2)).cumsum(axis=1), [80, 95], 2),
    ):
        (lo80, hi80), (lo95, hi95) = calibrated.bands(np.zeros((1, 4, 2)), inputs=np.ones((1, 5, 2))).values()
        assert (hi95 > hi80).all() and (lo95 < lo80).all() and (hi80 > 0).all()
        [warning] = shortfall_warnings(calibrated)
        assert warning.startswith("the 80 % and 95 % bands need at least 4 and 19 validation windows per")
        assert "this run has 2: they are the largest validation residual times 1.32 and 2.03" in warning


def test_bands_are_nested_around_the_point_per_step_and_target():
    rng = np.random.default_rng(0)
    intervals = ConformalIntervals.calibrate(rng.standard_normal((200, 6, 2)), [50, 80, 95])
    point = rng.standard_normal((30, 6, 2))
    bands = intervals.bands(point, unit=np.array([2.0, 0.5]))
    (lo50, hi50), (lo80, hi80), (lo95, hi95) = bands[50], bands[80], bands[95]
    assert (lo95 <= lo80).all() and (lo80 <= lo50).all() and (lo50 <= point).all()
    assert (point <= hi50).all() and (hi50 <= hi80).all() and (hi80 <= hi95).all()
    # the unit scales each target's half-width
    np.testing.assert_allclose(hi80 - point, intervals.quantiles[1] * [2.0, 0.5] + 0 * point)


def test_coverage_on_fresh_gaussian_residuals_is_nominal_per_level_and_per_step():
    # each step and target has its own spread: quantiles mixed up across levels, steps or targets would miss
    rng = np.random.default_rng(12)
    sigma = np.linspace(0.5, 3.0, 6)[:, None] * np.array([1.0, 4.0])
    intervals = ConformalIntervals.calibrate(rng.standard_normal((2000, 6, 2)) * sigma, [80, 95])
    truth = rng.standard_normal((20000, 6, 2)) * sigma
    bands = intervals.bands(np.zeros_like(truth))
    # calibration with n = 2000 moves coverage by about 0.01 per cell at most; levels 15 points apart
    for level, (lo, hi) in bands.items():
        inside = (truth >= lo) & (truth <= hi)
        assert inside.mean() == pytest.approx(level / 100, abs=0.02)
        per_step = inside.mean(axis=(0, 2))
        np.testing.assert_allclose(per_step, level / 100, atol=0.04)


def test_state_round_trips_through_plain_json():
    intervals = ConformalIntervals.calibrate(np.random.default_rng(1).standard_normal((50, 4, 3)), [80, 95])
    text = json.dumps(intervals.to_json(), allow_nan=False)
    loaded = ConformalIntervals.from_json(json.loads(text))
    assert (loaded.levels, loaded.n, loaded.method) == ([80, 95], 50, "split-conformal")
    np.testing.assert_array_equal(loaded.quantiles, intervals.quantiles)


def test_state_of_an_unknown_calibrator_is_refused_by_name():
    state = ConformalIntervals.calibrate(np.ones((5, 1, 1)), [80]).to_json() | {"method": "cqr"}
    with pytest.raises(
        ValueError, match="unknown interval method 'cqr'; this release knows split-conformal, sca"
    ):
        ConformalIntervals.from_json(state)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([0, 95], "each level must lie strictly between 0 and 100"),
        ([80, 100], "each level must lie strictly between 0 and 100"),
        ([95, 80], "levels must increase without repeats, e.g. \\[80, 95\\]"),
        ([80, 80], "levels must increase without repeats"),
    ],
)
def test_levels_outside_0_100_or_not_increasing_are_a_config_error_on_intervals_levels(levels, message):
    with pytest.raises(ValidationError, match=message) as raised:
        PipelineConfig.model_validate({"intervals": {"levels": levels}})
    assert raised.value.errors()[0]["loc"] == ("intervals", "levels")


def test_default_levels_are_80_and_95_and_an_empty_list_is_allowed():
    assert PipelineConfig().intervals.levels == [80, 95]
    assert PipelineConfig.model_validate({"intervals": {"levels": []}}).intervals.levels == []


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.helpers import run_tiny_job

    return run_tiny_job(tmp_path_factory.mktemp("data"))


def test_training_calibrates_intervals_and_scores_them_on_every_test_window(trained):
    forecaster, evaluation, _ = trained
    intervals = forecaster.intervals
    assert intervals.levels == [80, 95] and intervals.quantiles.shape == (2, 12, 1)
    # the default calibrator; its volatility reads one seasonal period of hourly data
    assert intervals.method == "scaled-residuals" and intervals.window == 24
    for name in ("coverage_80", "coverage_95", "width_80", "width_95_scaled", "msis_95"):
        assert np.isfinite(evaluation.metrics[f"test_{name}"])
    assert evaluation.metrics["test_coverage_80"] < evaluation.metrics["test_coverage_95"]
    assert {"coverage_80", "coverage_95"} <= set(evaluation.by_horizon.columns)
    lo, hi = evaluation.bands[95]
    assert lo.shape == evaluation.forecast.shape and (lo <= evaluation.forecast).all()


def test_a_bundle_keeps_its_calibration(trained, tmp_path):
    forecaster, evaluation, frame = trained
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    np.testing.assert_array_equal(loaded.intervals.quantiles, forecaster.intervals.quantiles)
    # the test windows' inputs: the lookback before the first test target onwards
    first = evaluation.first_rows[0]
    rows = frame.iloc[first - forecaster.spec.lookback :]
    inputs = loaded.input_windows(rows[loaded.spec.input_columns].to_numpy())[: len(evaluation.forecast)]
    for level, (lo, hi) in loaded.bands(evaluation.forecast, inputs).items():
        np.testing.assert_allclose(lo, evaluation.bands[level][0])
        np.testing.assert_allclose(hi, evaluation.bands[level][1])


def test_a_bundle_without_calibration_or_from_before_intervals_loads_and_forecasts(trained, tmp_path):
    forecaster, _, frame = trained
    plain = Forecaster.load(dataclasses.replace(forecaster, intervals=None).save(tmp_path / "plain"))
    assert plain.intervals is None and plain.bands(np.zeros((1, 12, 1))) == {}

    bundle = forecaster.save(tmp_path / "format3")
    meta = json.loads((bundle / "forecaster.json").read_text())
    del meta["intervals"]
    meta["format_version"] = 3
    (bundle / "forecaster.json").write_text(json.dumps(meta))
    older = Forecaster.load(bundle)
    assert older.intervals is None
    # without intervals, the point forecasts alone: no band columns
    for bare in (plain, older):
        pd.testing.assert_frame_equal(
            bare.predict(frame), forecaster.predict(frame)[["timestamp", "step", "y"]]
        )


def test_predict_gives_nested_band_columns_beside_each_target_from_its_input_window(trained):
    forecaster, _, frame = trained
    forecast = forecaster.predict(frame)
    assert list(forecast.columns) == ["timestamp", "step", "y", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"]
    nested = ["y_lo_95", "y_lo_80", "y", "y_hi_80", "y_hi_95"]
    assert (forecast[nested].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert (forecast["y_hi_95"] > forecast["y_lo_95"]).all()
    # the bands of the last window, its inputs as the network reads them
    lookback = forecaster.spec.lookback
    rows = frame.iloc[-lookback:]
    inputs = forecaster.input_windows(rows[["x", "y"]].to_numpy(), pd.DatetimeIndex(rows["timestamp"]))
    bands = forecaster.bands(forecast[["y"]].to_numpy()[None], inputs)
    np.testing.assert_allclose(forecast["y_lo_80"], bands[80][0][0, :, 0], rtol=1e-6)
    np.testing.assert_allclose(forecast["y_hi_95"], bands[95][1][0, :, 0], rtol=1e-6)


def test_bands_three_validation_windows_cannot_support_are_warned_of(trained_on):
    forecaster, _ = trained_on("many")
    assert forecaster.intervals.n == 3  # one validation window per series
    [warning] = shortfall_warnings(forecaster.intervals)
    assert warning.startswith("the 80 % and 95 % bands need at least 4 and 19 validation windows per")


# many series: a tiny panel of three series, residuals in each series' scaled units
SPREADS = np.array([0.2, 1.0, 5.0])


def panel_residuals(windows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(residuals (3 * windows, 4, 1), series (3 * windows,)): normal, series s of spread SPREADS[s]."""
    series = np.repeat(np.arange(3), windows)
    residuals = np.random.default_rng(seed).normal(size=(3 * windows, 4, 1)) * SPREADS[series, None, None]
    return residuals, series


def test_series_with_one_validation_window_each_share_pooled_half_widths_and_say_why():
    residuals, series = panel_residuals(1)
    pooled = ConformalIntervals.calibrate(residuals, [80, 95])
    chosen = choose_pooling(pooled, residuals, None, series, 3)
    assert chosen.pooling == "pooled" and chosen.by_series is None
    assert chosen.choice == (
        "intervals pooled over the 3 series (each series' residuals in its own scaled units): half-widths per"
        " series need 38 validation windows per series, the fewest here 1"
    )
    # one half-width for every series, in each series' own units
    lo, hi = chosen.bands(np.zeros((3, 4, 1)), np.array([1.0, 2.0, 3.0])[:, None, None], series=series)[80]
    np.testing.assert_allclose(hi[:, 0, 0] / [1.0, 2.0, 3.0], pooled.quantiles[0, 0, 0])


def test_series_of_different_spreads_get_half_widths_per_series_that_cover_each_of_them():
    residuals, series = panel_residuals(60)
    chosen = choose_pooling(ConformalIntervals.calibrate(residuals, [80, 95]), residuals, None, series, 3)
    assert chosen.pooling == "per-series" and chosen.by_series.shape == (3, 2, 4, 1)
    assert chosen.choice.startswith("intervals per series (validation coverage off nominal by 0.0")
    # fresh residuals: each series near nominal with its own half-widths (a pooled band would over-cover
    # the calm series and under-cover the volatile one)
    fresh, fresh_series = panel_residuals(2000, seed=1)
    bands = chosen.bands(np.zeros_like(fresh), inputs=None, series=fresh_series)
    for level, (lo, hi) in bands.items():
        covered = ((lo <= fresh) & (fresh <= hi)).mean(axis=(1, 2))
        for s in range(3):
            assert abs(covered[fresh_series == s].mean() - level / 100) < 0.04, (level, s)
    # a series the model never saw (-1) gets the pooled half-widths; the choice survives the bundle's JSON
    unseen = chosen.bands(np.zeros((1, 4, 1)), series=np.array([-1]))[95][1]
    np.testing.assert_allclose(unseen[0], chosen.quantiles[1])
    loaded = ConformalIntervals.from_json(json.loads(json.dumps(chosen.to_json())))
    assert loaded.pooling == "per-series"
    np.testing.assert_array_equal(loaded.by_series, chosen.by_series)


def test_a_panel_run_scales_pooled_bands_by_each_series_scaler_and_reports_coverage_over_all_series(tmp_path):
    from bilstm import pipeline

    config = write_shaped(tmp_path, "many", **{"train.epochs": 1, "intervals.method": "split-conformal"})
    forecaster, _, evaluation = pipeline.run(config)
    assert (
        forecaster.intervals.pooling == "pooled" and "pooled over the 3 series" in forecaster.intervals.choice
    )
    lo, hi = evaluation.bands[80]
    units = forecaster.scaler.units(slice(-1, None), evaluation.series)  # (N, 1) per window's series
    np.testing.assert_allclose(
        (hi - lo)[:, :, 0] / 2 / units, np.broadcast_to(forecaster.intervals.quantiles[0, :, 0], (3, 12))
    )
    covered = ((lo <= evaluation.truth) & (evaluation.truth <= hi)).mean(axis=(1, 2))
    np.testing.assert_allclose(evaluation.metrics["test_coverage_80"], covered.mean())
    assert list(evaluation.by_series["coverage_80"]) == pytest.approx(list(covered))
