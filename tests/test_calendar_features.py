"""Calendar and holiday features from the stamps: known stamps give known values, the wall clock of tz-aware
stamps is read, daylight-saving days work, names are normalised and bad ones refused in one line, features
that cannot change at the data's frequency are refused."""

import re

import numpy as np
import pandas as pd
import pytest

from bilstm import calendar_features
from bilstm.calendar_features import check, check_frequency, columns, values
from bilstm.errors import DataValidationError

SIN, COS = 0, 1


def _point(stamp: str, name: str, zone: str | None = None) -> np.ndarray:
    """(2,) sin and cos of feature `name` at one stamp."""
    return values(pd.DatetimeIndex([stamp], tz=zone), [name])[0]


def test_entries_are_normalised_deduplicated_and_kept_in_order():
    entries = ["Hour", "holiday:de", " hour", "holiday:us-ca", "holiday:DEU", "month"]
    assert check(entries) == ["hour", "holiday:DE", "holiday:US-CA", "month"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("hours", "unknown calendar feature 'hours'; choose from minute, hour, dayofweek, "),
        (
            "holiday:XX",
            "holiday:XX: XX is not a country code the holidays package knows (e.g. holiday:DE, holiday:US)",
        ),
        (
            "holiday:US-XX",
            "holiday:US-XX: XX is not a subdivision of US the holidays package knows (e.g. holiday:US-",
        ),
        ("holiday", "calendar feature 'holiday' needs a country: holiday:DE, holiday:US"),
        ("hour:3", "unknown calendar feature 'hour:3'"),
    ],
)
def test_a_bad_entry_is_refused_in_one_line_naming_it_and_the_choices(entry, message):
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        check(["month", entry])
    assert "\n" not in str(error.value)


def test_columns_are_prefixed_and_as_many_as_the_values_are_wide():
    calendar = ["hour", "holiday:DE", "dayofweek"]
    assert columns(calendar) == [
        "calendar_hour_sin",
        "calendar_hour_cos",
        "calendar_holiday_DE",
        "calendar_holiday_DE_days_to",
        "calendar_holiday_DE_days_since",
        "calendar_dayofweek_sin",
        "calendar_dayofweek_cos",
    ]
    every = [*calendar_features.NAMES, "holiday:US-CA"]
    stamps = pd.date_range("2024-01-01", periods=5, freq="37h")
    assert values(stamps, every).shape == (5, len(columns(every)))


def test_hour_23_and_hour_0_are_neighbours_on_the_circle():
    stamps = ["2024-05-02 00:00", "2024-05-02 01:00", "2024-05-01 23:00"]
    midnight, one, eleven_pm = (_point(stamp, "hour") for stamp in stamps)
    np.testing.assert_allclose(midnight, [0.0, 1.0], atol=1e-12)
    assert np.linalg.norm(eleven_pm - midnight) == pytest.approx(np.linalg.norm(one - midnight))
    assert np.linalg.norm(_point("2024-05-02 12:00", "hour") - midnight) == pytest.approx(2.0)


def test_days_of_week_monday_and_sunday_take_their_own_phases():
    monday, sunday = _point("2024-12-23", "dayofweek"), _point("2024-12-29 18:00", "dayofweek")
    np.testing.assert_allclose(monday, [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(sunday, [np.sin(2 * np.pi * 6 / 7), np.cos(2 * np.pi * 6 / 7)])


def test_the_last_day_of_a_month_lies_next_to_the_first():
    last, first, middle = (_point(day, "dayofmonth") for day in ["2024-02-29", "2024-03-01", "2024-03-16"])
    assert np.linalg.norm(last - first) < 0.25 < 1.9 < np.linalg.norm(middle - first)


def test_christmas_and_new_year_in_germany_with_days_to_and_since():
    days = pd.DatetimeIndex(["2024-12-24", "2024-12-25 13:00", "2024-12-26", "2024-12-27", "2024-12-31"])
    flag, days_to, days_since = values(days, ["holiday:DE"]).T
    np.testing.assert_array_equal(flag, [0, 1, 1, 0, 0])
    np.testing.assert_allclose(
        days_to * 7, [1, 1, 6, 5, 1]
    )  # 26th follows the 25th; New Year, the next year's
    np.testing.assert_allclose(days_since * 7, [7, 7, 1, 1, 5])  # before the 25th: 3 October, a week or more


def test_a_subdivision_has_its_own_holidays():
    epiphany = pd.DatetimeIndex(["2024-01-06"])  # a holiday in Bavaria, not in Berlin
    assert values(epiphany, ["holiday:DE-BY", "holiday:DE-BE"])[0, [0, 3]].tolist() == [1.0, 0.0]


def test_tz_aware_stamps_are_read_on_their_wall_clock():
    utc = pd.DatetimeIndex(["2024-07-01 10:00", "2024-12-24 23:30"], tz="UTC")
    berlin = values(utc.tz_convert("Europe/Berlin"), ["hour", "holiday:DE"])
    wall = values(pd.DatetimeIndex(["2024-07-01 12:00", "2024-12-25 00:30"]), ["hour", "holiday:DE"])
    np.testing.assert_allclose(berlin, wall)
    assert berlin[1, 2] == 1.0  # Christmas Day in Berlin while still Christmas Eve in UTC


@pytest.mark.parametrize(("day", "hours"), [("2024-03-31", [0, 1, 3, 4]), ("2024-10-27", [0, 1, 2, 2, 3])])
def test_daylight_saving_days_give_the_hours_the_clock_shows(day, hours):
    utc = pd.date_range(f"{day} 00:00", periods=len(hours), freq="h", tz="Europe/Berlin")
    features = values(utc, ["hour", "dayofyear"])
    phases = np.mod(np.arctan2(features[:, SIN], features[:, COS]) / (2 * np.pi), 1) * 24
    np.testing.assert_allclose(phases, hours, atol=1e-9)
    assert len(np.unique(features[:, 2:], axis=0)) == 1  # one date throughout


def test_400k_stamps_equal_the_values_of_each_stamp_alone():
    stamps = pd.date_range("1980-01-01", periods=400_000, freq="h", tz="UTC").tz_convert("America/New_York")
    calendar = [*calendar_features.NAMES, "holiday:US"]
    features = values(stamps, calendar)
    some = np.arange(0, len(stamps), 9_973)
    np.testing.assert_allclose(features[some], values(stamps[some], calendar))
    assert features.shape == (400_000, len(columns(calendar)))
    assert np.abs(features).max() <= 1.0


@pytest.mark.parametrize(
    ("calendar", "freq", "message"),
    [
        (
            ["month", "hour"],
            "D",
            "calendar feature hour is constant on steps of days (D): drop it from data.calendar",
        ),
        (["minute"], "h", "calendar feature minute is constant on steps of hours (h)"),
        (["dayofweek"], "W-SUN", "calendar feature dayofweek is constant on steps of weeks (W-SUN)"),
        (["month"], "YS", "calendar feature month is constant"),
        (["weekofyear"], "YS", "calendar feature weekofyear is constant"),  # ISO week 1, 52 or 53: nearly
        (["dayofmonth"], "ME", "calendar feature dayofmonth is constant"),
        (
            ["holiday:DE"],
            "MS",
            "calendar feature holiday:DE marks single days, not steps of month starts (MS)",
        ),
    ],
)
def test_a_feature_that_cannot_change_at_the_frequency_is_refused(calendar, freq, message):
    with pytest.raises(DataValidationError, match=re.escape(message)):
        check_frequency(calendar, freq)


@pytest.mark.parametrize(
    ("calendar", "freq"),
    [
        (["hour", "minute", "holiday:de"], "15min"),
        (["dayofweek", "dayofmonth", "month", "holiday:DE"], "D"),
        (["dayofweek", "holiday:DE"], "B"),
        (["hour"], "2h"),
        (["month", "quarter"], "QS-DEC"),
    ],
)
def test_features_that_change_at_the_frequency_are_kept_normalised(calendar, freq):
    assert check_frequency(calendar, freq) == check(calendar)
