"""Scaled-residual prediction intervals (`intervals.method: scaled-residuals`): near-nominal coverage on
heteroscedastic residuals where split conformal misses, the volatility floor, JSON state, config errors."""

import json

import numpy as np
import pytest
from pydantic import ValidationError

from bilstm.config import PipelineConfig
from bilstm.intervals import ConformalIntervals, ScaledResidualIntervals, calibrate

T, K, LOOKBACK = 4, 2, 30


def zigzag_inputs(volatility: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, L, 1 + k) inputs whose target columns (the last k) move by exactly ± `volatility` (n, k) each step,
    and a feature column (first) with steps of 100, which must not count."""
    n = len(volatility)
    signs = np.where(np.arange(LOOKBACK) % 2 == 0, 1.0, -1.0)[None, :, None]
    targets = 0.5 * signs * volatility[:, None, :] + rng.standard_normal((n, 1, K))  # any level
    feature = 50 * signs[..., 0]
    return np.concatenate([np.broadcast_to(feature, (n, LOOKBACK))[..., None], targets], axis=-1)


def heteroscedastic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows whose residuals scale with their volatility: inputs, residuals (n, T, k), volatility (n, k)."""
    volatility = 0.05 * rng.lognormal(0.0, 0.8, (n, K))  # far from 1: a missing rescale shows
    sigma = np.linspace(1.0, 2.5, T)[:, None] * np.array([1.0, 3.0])  # each step and target its own spread
    residuals = rng.standard_normal((n, T, K)) * sigma * volatility[:, None, :]
    return zigzag_inputs(volatility, rng), residuals, volatility


def test_scaled_residuals_cover_calm_and_volatile_windows_where_split_conformal_misses_both():
    rng = np.random.default_rng(12)
    inputs, residuals, _ = heteroscedastic(4000, rng)
    scaled = ScaledResidualIntervals.calibrate(residuals, inputs, [80, 95], window=24)
    plain = ConformalIntervals.calibrate(residuals, [80, 95])
    test_inputs, truth, volatility = heteroscedastic(30000, rng)
    # per target: the calmest and the most volatile third of the test windows
    calm = volatility <= np.quantile(volatility, 1 / 3, axis=0)
    wild = volatility >= np.quantile(volatility, 2 / 3, axis=0)
    point = np.zeros_like(truth)
    plain_bands = plain.bands(point)
    # calibration with n = 4000 moves coverage by about 0.01 per cell; levels 15 points apart
    for level, (lo, hi) in scaled.bands(point, inputs=test_inputs).items():
        nominal = level / 100
        inside = (truth >= lo) & (truth <= hi)
        assert inside.mean() == pytest.approx(nominal, abs=0.02)
        np.testing.assert_allclose(inside.mean(axis=(0, 2)), nominal, atol=0.03)  # per step
        for group in (calm, wild):
            assert inside.transpose(0, 2, 1)[group].mean() == pytest.approx(nominal, abs=0.03)
        # one band for all: calm windows miss under a third as often as nominal, volatile ones twice as often
        lo, hi = plain_bands[level]
        plain_missed = ((truth < lo) | (truth > hi)).transpose(0, 2, 1)
        assert plain_missed[calm].mean() < (1 - nominal) / 3 and plain_missed[wild].mean() > 2 * (1 - nominal)


def test_a_band_is_its_quantile_times_the_window_volatility_times_the_unit():
    rng = np.random.default_rng(3)
    inputs, residuals, _ = heteroscedastic(500, rng)
    intervals = ScaledResidualIntervals.calibrate(residuals, inputs, [50, 80, 95], window=24)
    test_inputs, _, volatility = heteroscedastic(7, rng)
    np.testing.assert_allclose(intervals.volatility(test_inputs), volatility)  # the feature does not count
    point = rng.standard_normal((7, T, K))
    bands = intervals.bands(point, unit=np.array([2.0, 0.5]), inputs=test_inputs)
    expected = intervals.quantiles[1] * volatility[:, None, :] * [2.0, 0.5]
    np.testing.assert_allclose(bands[80][1] - point, expected)
    (lo50, hi50), (lo80, hi80), (lo95, hi95) = bands[50], bands[80], bands[95]
    assert (lo95 <= lo80).all() and (lo80 <= lo50).all() and (lo50 <= point).all()
    assert (point <= hi50).all() and (hi50 <= hi80).all() and (hi80 <= hi95).all()
    # one window without a batch axis: (L, C) inputs around a (T, k) point
    single = intervals.bands(point[0], unit=np.array([2.0, 0.5]), inputs=test_inputs[0])
    np.testing.assert_allclose(single[80][1], bands[80][1][0])


def test_the_volatility_reads_only_the_last_window_steps_and_a_short_lookback_cuts_the_window():
    inputs = np.zeros((1, 10, 1))
    inputs[0, -4:, 0] = [0.0, 1.0, 3.0, 6.0]  # differences 1, 2, 3 over the last 3 steps; flat before
    intervals = ScaledResidualIntervals.calibrate(np.ones((1, 1, 1)), inputs, [80], window=3)
    assert intervals.window == 3 and intervals.volatility(inputs)[0, 0] == pytest.approx(2.0)
    assert ScaledResidualIntervals.calibrate(np.ones((1, 1, 1)), inputs, [80], window=24).window == 9


def test_flat_windows_get_the_floor_a_tenth_of_the_median_volatility_not_a_zero_width_band():
    rng = np.random.default_rng(5)
    volatility = np.concatenate([np.zeros((100, K)), np.full((200, K), 2.0)])  # median 2: floor 0.2
    inputs = zigzag_inputs(volatility, rng)
    residuals = rng.standard_normal((300, T, K))
    intervals = ScaledResidualIntervals.calibrate(residuals, inputs, [80], window=24)
    np.testing.assert_allclose(intervals.floor, 0.2)
    flat = inputs[:1]
    lo, hi = intervals.bands(np.zeros((1, T, K)), inputs=flat)[80]
    np.testing.assert_allclose(hi[0], intervals.quantiles[0] * 0.2)
    assert (hi > 0).all() and np.isfinite(intervals.quantiles).all()
    # a constant target: every window flat, the floor still positive, the bands finite
    constant = ScaledResidualIntervals.calibrate(residuals, np.zeros((300, 8, 1 + K)), [80], window=24)
    assert (constant.floor > 0).all() and np.isfinite(
        constant.bands(np.zeros((T, K)), inputs=flat[0])[80][1]
    ).all()


def test_scaled_state_round_trips_through_plain_json_with_its_window_and_floor():
    rng = np.random.default_rng(1)
    inputs, residuals, _ = heteroscedastic(50, rng)
    intervals = calibrate("scaled-residuals", residuals, inputs, [80, 95], 24)
    loaded = ConformalIntervals.from_json(json.loads(json.dumps(intervals.to_json(), allow_nan=False)))
    assert isinstance(loaded, ScaledResidualIntervals) and loaded.method == "scaled-residuals"
    assert (loaded.levels, loaded.n, loaded.window) == ([80, 95], 50, 24)
    np.testing.assert_array_equal(loaded.floor, intervals.floor)
    np.testing.assert_array_equal(loaded.quantiles, intervals.quantiles)
    point = np.zeros((50, T, K))
    for level, band in loaded.bands(point, inputs=inputs).items():
        np.testing.assert_array_equal(band, intervals.bands(point, inputs=inputs)[level])


def test_split_conformal_is_still_calibrated_by_name_and_ignores_the_inputs():
    rng = np.random.default_rng(2)
    inputs, residuals, _ = heteroscedastic(50, rng)
    intervals = calibrate("split-conformal", residuals, inputs, [80], 24)
    assert type(intervals) is ConformalIntervals
    np.testing.assert_array_equal(
        intervals.bands(np.zeros((T, K)), inputs=inputs[0])[80][1], intervals.quantiles[0]
    )


def test_scaled_bands_without_the_input_windows_or_an_unknown_method_are_refused():
    rng = np.random.default_rng(4)
    inputs, residuals, _ = heteroscedastic(20, rng)
    with pytest.raises(ValueError, match="need the input windows of the forecasts"):
        calibrate("scaled-residuals", residuals, inputs, [80], 24).bands(np.zeros((T, K)))
    with pytest.raises(ValueError, match="unknown interval method 'cqr'; use split-conformal or scaled"):
        calibrate("cqr", residuals, inputs, [80], 24)
    with pytest.raises(ValueError, match="need a lookback of at least 2"):
        ScaledResidualIntervals.calibrate(residuals, inputs[:, -1:], [80], 24)


def test_the_default_method_is_scaled_residuals_and_an_unknown_one_is_a_config_error():
    assert PipelineConfig().intervals.method == "scaled-residuals"
    with pytest.raises(ValidationError, match="'split-conformal' or 'scaled-residuals'") as raised:
        PipelineConfig.model_validate({"intervals": {"method": "cqr"}})
    assert raised.value.errors()[0]["loc"] == ("intervals", "method")


def test_scaled_residuals_with_a_lookback_of_1_is_a_config_error_split_conformal_is_not():
    with pytest.raises(ValidationError, match="scaled-residuals needs window.lookback of at least 2"):
        PipelineConfig.model_validate({"window": {"lookback": 1}})
    PipelineConfig.model_validate({"window": {"lookback": 1}, "intervals": {"method": "split-conformal"}})
    PipelineConfig.model_validate({"window": {"lookback": 1}, "intervals": {"levels": []}})
