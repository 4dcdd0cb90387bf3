"""`scaler.cycle`: the per-phase means of the train rows, phases by timestamp, removed before the network and
added back to its forecasts, saved with the bundle; with many series, each series' own profile (and their
mean for a series never seen), a series that misses a phase named."""

import json

import numpy as np
import pandas as pd
import pytest

from bilstm import pipeline
from bilstm.cycle import Cycle, CycleError
from bilstm.data import DataValidationError, load_table
from bilstm.forecaster import Forecaster
from tests.helpers import long_frame, shaped_config, synthetic_frame, tiny, write_shaped

HOURS = pd.date_range("2024-01-01", periods=96, freq="h")


def test_the_cycle_is_each_columns_mean_per_phase_of_the_train_rows():
    rng = np.random.default_rng(0)
    pattern = rng.normal(size=(24, 2))
    values = np.tile(pattern, (4, 1)) + rng.normal(scale=0.01, size=(96, 2))
    cycle = Cycle.fit(values, HOURS, 24, "h")
    expected = values.reshape(4, 24, 2).mean(axis=0)
    np.testing.assert_allclose(cycle.means, expected[None])  # one series
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


# many series: a tiny panel of three hourly series with daily profiles of their own
PANEL_IDS = np.array(["a", "b", "c"], dtype=object)


def panel_values(rows: int = 48) -> tuple[np.ndarray, pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """(values, times, row_series, profiles): series s is its (24,) profile repeated, from its own start."""
    profiles = np.stack([np.arange(24.0), -np.arange(24.0), np.where(np.arange(24) < 12, 5.0, -5.0)])
    starts = [pd.Timestamp("2024-01-01") + pd.Timedelta(hours=3 * s) for s in range(3)]
    times = pd.DatetimeIndex(np.concatenate([pd.date_range(t, periods=rows, freq="h") for t in starts]))
    values = np.concatenate([np.tile(np.roll(p, -3 * s), rows // 24) for s, p in enumerate(profiles)])
    return values[:, None], times, np.repeat(np.arange(3), rows), profiles


def test_each_series_gets_the_profile_of_its_own_train_rows_and_an_unseen_one_their_mean():
    values, times, row_series, profiles = panel_values()
    cycle = Cycle.fit(values, times, 24, "h", row_series=row_series, ids=PANEL_IDS)
    assert cycle.means.shape == (3, 24, 1)
    # phases from the first stamp of any series: each series' profile at the same wall-clock hours
    day = pd.date_range("2024-02-01", periods=24, freq="h")
    for s in range(3):
        np.testing.assert_allclose(cycle.at(day, series=np.full(24, s))[:, 0], profiles[s])
    np.testing.assert_allclose(cycle.at(day, series=np.full(24, -1))[:, 0], profiles.mean(axis=0))
    assert cycle.numbers(np.array(["c", "new", "a"])).tolist() == [2, -1, 0]
    loaded = Cycle.from_json(json.loads(json.dumps(cycle.to_json())))
    np.testing.assert_array_equal(loaded.means, cycle.means)
    assert list(loaded.ids) == ["a", "b", "c"]


def test_a_series_whose_train_rows_miss_a_phase_is_named():
    values, times, row_series, _ = panel_values()
    short = row_series != 2
    short[-48:-30] = True  # 18 rows of series c: hours 6 of the day onwards are missing
    with pytest.raises(
        CycleError, match=r"scaler.cycle=24: the train rows of series 'c' miss phase\(s\) \[0,"
    ):
        Cycle.fit(values[short], times[short], 24, "h", row_series=row_series[short], ids=PANEL_IDS)


def test_a_one_series_cycle_saved_before_many_series_loads_as_series_zero():
    older = {
        "period": 24,
        "freq": "h",
        "origin": "2024-01-01T00:00:00",
        "means": [[float(h)] for h in range(24)],
    }
    cycle = Cycle.from_json(older)
    assert cycle.means.shape == (1, 24, 1) and list(cycle.ids) == ["series"]
    np.testing.assert_array_equal(cycle.at(HOURS[:3])[:, 0], [0.0, 1.0, 2.0])


def test_the_network_reads_each_series_minus_its_own_cycle_fitted_on_its_train_rows(tmp_path):
    config = write_shaped(tmp_path, "many", **{"scaler.cycle": 24})
    series = load_table(config.data)
    prepared = pipeline.split_and_scale(series, config)
    hours = series.frame.index.hour
    for s in range(3):
        train = prepared.split.rows("train", s)
        own = prepared.scaled[train, 0]
        assert max(abs(own[hours[train] == h].mean()) for h in range(24)) < 1e-5
    np.testing.assert_allclose(
        prepared.scaled + prepared.cycle.at(series.frame.index, series=series.row_series),
        prepared.scaler.transform(series.values, series=series.row_series),
        atol=1e-5,
    )


def test_a_panel_forecaster_with_a_cycle_forecasts_each_series_alike_in_evaluation_predict_and_its_bundle(
    tmp_path,
):
    frame = long_frame()
    path = write_shaped(tmp_path, "many", frame).data.path
    forecaster, _, evaluation = pipeline.run(
        shaped_config(path, "many", **{"scaler.cycle": 24, "train.epochs": 1})
    )
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    assert loaded.cycle.to_json() == forecaster.cycle.to_json()
    # split last: each series' one test window forecasts its last 12 rows, from the rows before them
    before = frame.groupby("id").apply(lambda rows: rows.iloc[:-12], include_groups=False).reset_index(0)
    forecast = loaded.predict(before)
    np.testing.assert_allclose(forecast["y"].to_numpy(), evaluation.forecast.reshape(-1), rtol=1e-5)
    np.testing.assert_allclose(forecast["y_lo_95"].to_numpy(), evaluation.bands[95][0].reshape(-1), rtol=1e-5)
    # what the bundle's network reads of each series is that series minus its own cycle, as in training
    config = shaped_config(path, "many", **{"scaler.cycle": 24})
    series = load_table(config.data)
    prepared = pipeline.split_and_scale(series, config)
    reads = loaded.network_values(series.values, series.frame.index, series.row_series)
    np.testing.assert_allclose(reads, prepared.scaled, atol=1e-5)
    # the monitor's path, series by series, adds back that series' own cycle too
    for number in range(len(series.ids)):
        rows = series.frame.iloc[series.rows_of(number)]
        windows = loaded.forecast_windows(rows[["y"]].to_numpy(), rows.index, number)
        expected = forecast[forecast["id"] == series.ids[number]]["y"].to_numpy()
        np.testing.assert_allclose(windows[-1, :, 0], expected, rtol=1e-5)


def test_a_registered_panel_model_with_a_cycle_and_intervals_forecasts_every_series_with_bands(
    tmp_path, tracking, bilstm
):
    from mlflow import MlflowClient

    from flows.train import train_flow

    overrides = {"scaler.cycle": 24, "data.split": "fractions", "intervals.levels": [80], "train.epochs": 1}
    config = write_shaped(tmp_path, "many", **overrides)
    history = config.data.path
    summary = train_flow(config)
    run = MlflowClient(tracking).get_run(summary["run_id"])
    # 9 or more validation windows per series: both calibrations were tried, and the summary says which won
    pooling = run.data.tags["intervals.pooling"]
    assert pooling in ("pooled", "per-series")
    assert summary["intervals_calibration"].startswith(
        "intervals per series (" if pooling == "per-series" else "intervals pooled over the 3 series ("
    )
    assert "validation coverage off nominal by" in summary["intervals_calibration"]
    assert 0 <= run.data.metrics["test_coverage_80"] <= 1

    result = bilstm("forecast", "--data", str(history), "--output", "forecast.csv", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert list(forecast.columns) == ["id", "ds", "step", "y", "y_lo_80", "y_hi_80"]
    assert forecast.groupby("id").size().to_dict() == {"a": 12, "b": 12, "c": 12}
    assert ((forecast.y_lo_80 < forecast.y) & (forecast.y < forecast.y_hi_80)).all()
