"""`scaler.cycle`: the per-phase means of the train rows, phases by timestamp, removed before the network and
added back to its forecasts, saved with the bundle."""

import json

import numpy as np
import pandas as pd
import pytest

from bilstm import pipeline
from bilstm.cycle import Cycle, CycleError
from bilstm.data import DataValidationError, load_table
from bilstm.forecaster import Forecaster
from tests.helpers import synthetic_frame, tiny

HOURS = pd.date_range("2024-01-01", periods=96, freq="h")


def test_the_cycle_is_each_columns_mean_per_phase_of_the_train_rows():
    rng = np.random.default_rng(0)
    pattern = rng.normal(size=(24, 2))
    values = np.tile(pattern, (4, 1)) + rng.normal(scale=0.01, size=(96, 2))
    cycle = Cycle.fit(values, HOURS, 24, "h")
    expected = values.reshape(4, 24, 2).mean(axis=0)
    np.testing.assert_allclose(cycle.means, expected)
    np.testing.assert_allclose(cycle.at(HOURS[30:33]), expected[6:9])
    np.testing.assert_allclose(cycle.at(HOURS[30:33], slice(-1, None)), expected[6:9, 1:])


def test_phases_follow_the_timestamps_across_gaps_and_beyond_the_train_rows():
    cycle = Cycle.fit(np.arange(24.0)[:, None], HOURS[:24], 24, "h")
    later = pd.DatetimeIndex(["2024-01-03 05:00", "2024-01-03 07:00", "2030-06-01 23:00"])  # a gap, far ahead
    np.testing.assert_array_equal(cycle.at(later)[:, 0], [5.0, 7.0, 23.0])


def test_the_cycle_survives_json():
    cycle = Cycle.fit(np.random.default_rng(1).normal(size=(96, 3)), HOURS.tz_localize("UTC"), 24, "h")
    loaded = Cycle.from_json(json.loads(json.dumps(cycle.to_json())))
    np.testing.assert_array_equal(loaded.at(HOURS.tz_localize("UTC")), cycle.at(HOURS.tz_localize("UTC")))


def test_a_period_the_train_rows_do_not_cover_is_refused():
    with pytest.raises(CycleError, match=r"scaler.cycle=168: the train rows miss phase\(s\) \[96, 97"):
        Cycle.fit(np.zeros((96, 1)), HOURS, 168, "h")


def test_monthly_phases_are_calendar_months_whatever_their_length():
    months = pd.date_range("2020-01-01", periods=36, freq="MS")
    values = months.month.to_numpy(dtype=np.float64)[:, None]  # each month's own number
    cycle = Cycle.fit(values, months, 12, "MS")
    later = pd.date_range("2031-03-01", periods=14, freq="MS")
    np.testing.assert_array_equal(cycle.at(later)[:, 0], later.month)


@pytest.fixture(scope="module")
def data_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("data") / "series.csv"
    synthetic_frame().to_csv(path, index=False)
    return str(path)


def config_with_cycle(data_path, period=24):
    return tiny(
        **{"data.path": data_path, "data.time_column": "timestamp", "data.targets": ["y"], "train.epochs": 1,
           "scaler.cycle": period}
    )  # fmt: skip


def test_the_network_reads_the_scaled_series_minus_the_cycle(data_path):
    config = config_with_cycle(data_path)
    series = load_table(config.data)
    prepared = pipeline.split_and_scale(series, config)
    plain = prepared.scaler.transform(series.values)
    np.testing.assert_allclose(prepared.scaled + prepared.cycle.at(series.frame.index), plain, atol=1e-5)
    # the train rows' mean per hour is gone from what the network reads
    train = prepared.scaled[prepared.split.rows("train")]
    hours = series.frame.index[prepared.split.rows("train")].hour
    assert max(abs(train[hours == h].mean()) for h in range(24)) < 1e-5


def test_a_cycle_the_train_rows_cannot_fill_names_the_file(data_path):
    config = config_with_cycle(data_path, 5000)
    with pytest.raises(DataValidationError, match=f"{data_path}: scaler.cycle=5000"):
        pipeline.split_and_scale(load_table(config.data), config)


def test_a_cycle_forecaster_forecasts_alike_from_windows_history_and_a_saved_bundle(data_path, tmp_path):
    forecaster, _, _ = pipeline.run(config_with_cycle(data_path), progress=False)
    frame = pd.read_csv(data_path, parse_dates=["timestamp"])
    values, times = frame[["x", "y"]].to_numpy(), pd.DatetimeIndex(frame.timestamp)
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))

    assert loaded.cycle.period == 24 and loaded.cycle.to_json() == forecaster.cycle.to_json()
    pd.testing.assert_frame_equal(loaded.predict(frame), forecaster.predict(frame))
    # the last window's forecast of the rows we have equals predict() from the history just before them
    last_window = forecaster.forecast_windows(values[-60:], times[-60:])[-1, :, 0]
    from_history = forecaster.predict(frame.iloc[:-12])["y"].to_numpy()
    np.testing.assert_allclose(last_window, from_history, rtol=1e-5)
    with pytest.raises(ValueError, match="pass the times of the rows"):
        forecaster.forecast_windows(values[-60:])


def test_a_bundle_of_format_1_loads_without_a_cycle(data_path, tmp_path):
    config = config_with_cycle(data_path, period=0)
    forecaster, _, _ = pipeline.run(config, progress=False)
    bundle = forecaster.save(tmp_path / "bundle")
    meta = json.loads((bundle / "forecaster.json").read_text())
    meta["format_version"] = 1
    del meta["cycle"]
    (bundle / "forecaster.json").write_text(json.dumps(meta))
    frame = pd.read_csv(data_path, parse_dates=["timestamp"])
    loaded = Forecaster.load(bundle)
    assert loaded.cycle is None
    pd.testing.assert_frame_equal(loaded.predict(frame), forecaster.predict(frame))
