"""Calendar frequencies on files of the shapes users have (monthly, quarterly, business days, weekly, daily
with gaps, 5-minute, yearly; one series and long tables): the offset found, gaps counted in its steps, the
seasonal period, forecast stamps that stay on the calendar, and one line for stamps that fit no frequency."""

import warnings

import numpy as np
import pandas as pd
import pytest

from bilstm.calendar_steps import future_stamps, seasonal_period
from bilstm.config import DataConfig
from bilstm.data import load_table
from bilstm.errors import DataValidationError


def write(tmp_path, stamps, name="data.csv", **columns) -> str:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"date": stamps, "y": rng.normal(size=len(stamps)).cumsum(), **columns})
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def loaded(path: str, **settings):
    return load_table(DataConfig(path=path, time_column="date", targets=["y"], **settings))


SHAPES = {
    "month starts": (pd.date_range("1990-01-01", periods=60, freq="MS"), "MS", 12),
    "month ends": (pd.date_range("1990-01-31", periods=60, freq="ME"), "ME", 12),
    "quarter starts": (pd.date_range("1990-01-01", periods=40, freq="QS"), "QS-JAN", 4),
    "quarter ends": (pd.date_range("1990-03-31", periods=40, freq="QE"), "QE-DEC", 4),
    "years": (pd.date_range("1900-01-01", periods=40, freq="YS"), "YS-JAN", 1),
    "weeks on Saturdays": (pd.date_range("2020-01-04", periods=80, freq="W-SAT"), "W-SAT", 52),
    "business days": (pd.date_range("2024-01-01", periods=60, freq="B"), "B", 5),
    "days": (pd.date_range("2024-01-01", periods=60, freq="D"), "D", 7),
    "5 minutes": (pd.date_range("2024-01-01", periods=600, freq="5min"), "5min", 288),
    "half hours": (pd.date_range("2024-01-01", periods=200, freq="30min"), "30min", 48),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_calendar_shape_gets_its_offset_and_seasonal_period(tmp_path, shape):
    stamps, freq, period = SHAPES[shape]
    series = loaded(write(tmp_path, stamps))
    assert (series.freq, seasonal_period(series.freq)) == (freq, period)
    after = pd.date_range(stamps[-1], periods=4, freq=freq)[1:]
    assert list(future_stamps(series.frame.index[-1:], 3, series.freq)) == list(after)


def test_monthly_forecast_stamps_stay_on_month_starts_after_a_missing_month(tmp_path):
    stamps = pd.date_range("1980-01-01", periods=60, freq="MS").delete(20)  # one month missing
    with pytest.warns(UserWarning, match=r"1 gap\(s\) with 1 missing step\(s\) of MS"):
        series = loaded(write(tmp_path, stamps))
    assert series.freq == "MS"
    future = future_stamps(series.frame.index[-1:], 12, series.freq)
    assert (future.day == 1).all() and list(future.month) == list(range(1, 13))


def test_daily_data_with_missing_days_keeps_a_weekly_season(tmp_path):
    stamps = pd.date_range("2024-01-01", periods=90, freq="D").delete([10, 40])
    with pytest.warns(UserWarning, match="not evenly spaced"):
        series = loaded(write(tmp_path, stamps))
    assert (series.freq, seasonal_period(series.freq)) == ("D", 7)


def test_a_gap_is_counted_in_steps_of_the_calendar_frequency(tmp_path):
    stamps = pd.date_range("1980-01-01", periods=60, freq="MS").delete([20, 21, 22, 23])  # 4 months missing
    path = write(tmp_path, stamps)
    with pytest.raises(DataValidationError, match=r"longer than data.max_gap=3 steps of MS"):
        loaded(path)
    with pytest.warns(UserWarning, match=r"4 missing step\(s\) of MS"):
        assert loaded(path, max_gap=5).freq == "MS"


def test_stamps_that_fit_no_frequency_are_one_line_naming_the_first_irregular_rows(tmp_path):
    stamps = pd.date_range("1980-01-01", periods=40, freq="MS").append(pd.DatetimeIndex(["1983-05-15"]))
    message = (
        r"data.csv: the stamps fit no frequency: most steps are month starts \(MS\), but row 41 \(1983-05-15"
        r" 00:00:00\) are not on the first or the last day of a month at the same time of day; fix or drop"
    )
    with pytest.raises(DataValidationError, match=message):
        loaded(write(tmp_path, stamps))


def test_daily_local_time_keeps_its_days_across_daylight_saving(tmp_path):
    local = pd.date_range("2024-03-20", periods=30, freq="D", tz="Europe/Berlin")
    series = loaded(write(tmp_path, local.strftime("%Y-%m-%dT%H:%M:%S%z")), timezone="Europe/Berlin")
    assert series.freq == "D"
    future = future_stamps(series.frame.index[-1:], 3, "D", series.timezone).tz_convert("Europe/Berlin")
    assert list(future) == list(pd.date_range(local[-1], periods=4, freq="D")[1:])


def test_a_quarterly_long_table_of_series_is_one_quarterly_frequency(tmp_path):
    parts = [
        pd.DataFrame({"date": pd.date_range(start, periods=rows, freq="QS"), "id": name})
        for name, start, rows in (("a", "1990-01-01", 40), ("b", "1995-04-01", 30), ("c", "2001-10-01", 24))
    ]
    table = pd.concat(parts, ignore_index=True)
    path = write(tmp_path, table["date"], id=table["id"])
    config = DataConfig(path=path, time_column="date", targets=["y"], series_column="id")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing irregular to warn of
        panel = load_table(config)
    assert panel.freq == "QS-JAN"
    last = panel.frame.index[panel.offsets[1:] - 1]
    future = future_stamps(last, 2, panel.freq)
    assert list(future.strftime("%Y-%m-%d")) == [
        "2000-01-01", "2000-04-01", "2002-10-01", "2003-01-01", "2007-10-01", "2008-01-01",
    ]  # fmt: skip


def test_a_monthly_long_table_refuses_a_quarterly_series_naming_it(tmp_path):
    monthly = pd.date_range("2000-01-01", periods=48, freq="MS")
    quarterly = pd.date_range("2000-01-01", periods=16, freq="QS")
    stamps = monthly.append(monthly).append(quarterly)
    ids = ["a"] * 48 + ["b"] * 48 + ["q"] * 16
    path = write(tmp_path, stamps, id=ids)
    config = DataConfig(path=path, time_column="date", targets=["y"], series_column="id")
    with pytest.raises(DataValidationError, match=r"series 'q' \(file rows 97-112\) steps by 3 steps of MS"):
        load_table(config)


def test_seasonal_period_override_wins_over_the_frequency(tmp_path):
    from bilstm.defaults import season

    assert season(DataConfig(seasonal_period=6), "MS") == 6
    assert season(DataConfig(), "MS") == 12


def test_a_model_of_monthly_data_forecasts_month_starts_and_keeps_its_period_and_gap_policy(tmp_path):
    from bilstm.forecaster import Forecaster
    from bilstm.pipeline import run
    from tests.helpers import tiny

    stamps = pd.date_range("2010-01-01", periods=120, freq="MS").delete(50)  # a missing month on the way
    path = write(tmp_path, stamps)
    data = {"data.path": path, "data.time_column": "date", "data.targets": ["y"], "data.setting": "S",
            "data.missing": "interpolate"}  # fmt: skip
    config = tiny(**data, **{"window.lookback": None, "model.patch_len": None, "train.epochs": 1})
    with pytest.warns(UserWarning, match="not evenly spaced"):
        forecaster, _, evaluation = run(config, progress=False)
    assert (forecaster.spec.freq, forecaster.spec.period) == ("MS", 12)
    assert forecaster.spec.lookback == 20  # a quarter of the 83 train rows (less than two periods)
    history = pd.read_csv(path, parse_dates=["date"])
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    assert loaded.data_config(path).missing == "interpolate"  # a history is read as the train rows were
    forecast = loaded.predict(history)
    assert list(forecast["date"]) == list(pd.date_range("2020-01-01", periods=12, freq="MS"))
    assert np.isfinite(evaluation.metrics["seasonal_naive_test_mse_scaled"])
