"""bench/epf_baselines.py's naive 1/7, the EPF reference every row of bench/epf.py is scored against."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from epf_baselines import naive_1_7  # noqa: E402  (bench/ is not a package)


def test_naive_1_7_copies_a_week_earlier_on_mondays_and_weekends_and_the_day_before_otherwise():
    days = 15
    prices = np.arange(days, dtype=float)[:, None] * 100 + np.arange(24)  # day d, hour h -> 100 d + h
    dayofweek = (np.arange(days) + 3) % 7  # day 0 is a Thursday: days 2, 3, 4 are Sat, Sun, Mon
    forecast = naive_1_7(prices, dayofweek)
    copied = forecast[:, 0] // 100  # the day each forecast copies, NaN where none
    expected = [np.nan, 0, np.nan, np.nan, np.nan, 4, 5, 6, 7, 2, 3, 4, 11, 12, 13]
    np.testing.assert_array_equal(copied, expected)
    np.testing.assert_array_equal(forecast[10] - forecast[10, 0], np.arange(24))  # hour by hour
