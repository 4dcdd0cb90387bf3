"""Steps of a frequency on the calendar: how many steps of a pandas offset each stamp lies from a fixed
origin (fixed steps in UTC, calendar steps such as months on the wall clock of the data's zone), the stamps
after a series' last one, a frequency's seasonal period and its name in words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

DAY_NS = 86_400 * 10**9
_PER_YEAR = {"D": 7, "B": 5, "W": 52, "MS": 12, "ME": 12, "QS": 4, "QE": 4, "YS": 1, "YE": 1}
_NAMES = {
    "D": "days",
    "B": "business days",
    "W": "weeks",
    "MS": "month starts",
    "ME": "month ends",
    "QS": "quarter starts",
    "QE": "quarter ends",
    "YS": "year starts",
    "YE": "year ends",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
}


def wall_clock(times: pd.DatetimeIndex, zone: str | None) -> pd.DatetimeIndex:
    """The stamps as a clock in the data's zone shows them, naive: calendar steps are counted there."""
    if times.tz is None:
        return times
    return times.tz_convert(zone or "UTC").tz_localize(None)


def step_numbers(
    times: pd.DatetimeIndex, freq: str, zone: str | None = None, groups: np.ndarray | None = None
) -> np.ndarray:
    """(rows,) float: how many steps of `freq` each stamp lies after a fixed origin; NaN for a stamp that no
    step of `freq` lands on (a month start series' 15th, a business-day series' Saturday, an hourly series'
    10:30). `groups` (rows,): the series of each row, each with its own phase (one hourly series on the
    hour, another at :30); None: one series."""
    groups = np.zeros(len(times), dtype=np.int64) if groups is None else groups
    offset = to_offset(freq)
    if isinstance(offset, pd.offsets.Tick):
        return _multiples(times.as_unit("ns").asi8, pd.Timedelta(offset).value, groups)
    wall = wall_clock(times, zone).as_unit("ns")
    days = wall.normalize().asi8 // DAY_NS
    numbers = _calendar_numbers(wall, days, offset, groups)
    clock = wall.asi8 - days * DAY_NS  # the time of day: one per series
    numbers[clock != mode_per_group(clock, groups)[groups]] = np.nan
    return numbers


def most_common(values: np.ndarray) -> int:
    unique, counts = np.unique(values, return_counts=True)
    return int(unique[counts.argmax()])


def mode_per_group(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(groups,) the most common value of each group (the smallest of the most common); `groups` (rows,)
    numbers the groups 0, 1, ... in order."""
    count = int(groups.max()) + 1 if len(groups) else 0
    if len(values) and (values == values[0]).all():  # the usual case, without a sort
        return np.full(count, values[0], dtype=values.dtype)
    pairs, counts = np.unique(np.stack([groups, values]), axis=1, return_counts=True)
    order = np.lexsort((-pairs[1], counts, pairs[0]))  # by group, then count, then value falling
    last = np.r_[pairs[0][order][1:] != pairs[0][order][:-1], True]
    modes = np.zeros(count, dtype=values.dtype)
    modes[pairs[0][order][last]] = pairs[1][order][last]
    return modes


def _multiples(values: np.ndarray, step: int, groups: np.ndarray) -> np.ndarray:
    """values / step where whole once each group's most common remainder is taken off, else NaN."""
    remainder = values % step
    phase = mode_per_group(remainder, groups)[groups]
    numbers = ((values - phase) // step).astype(np.float64)
    numbers[remainder != phase] = np.nan
    return numbers


def _calendar_numbers(
    wall: pd.DatetimeIndex, days: np.ndarray, offset: pd.DateOffset, groups: np.ndarray
) -> np.ndarray:
    base, n = rule_base(offset), offset.n
    if base == "D":
        return _multiples(days, n, groups)
    if base == "B":
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (3)
        dates = days.astype("datetime64[D]")
        numbers = np.busday_count(np.datetime64("1970-01-01"), dates).astype(np.float64)
        numbers[weekday >= 5] = np.nan
        return _multiples_of_numbers(numbers, n, groups)
    if base == "W":
        weekday = (days + 3) % 7
        numbers = _multiples(days, 7 * n, groups)
        numbers[weekday != offset.weekday] = np.nan
        return numbers
    months = (wall.year.to_numpy() * 12 + wall.month.to_numpy() - 1).astype(np.int64)
    day = wall.day.to_numpy()
    on_day = day == 1 if base.endswith("S") else day == wall.days_in_month.to_numpy()
    per_step = {"M": 1, "Q": 3, "Y": 12}[base[0]] * n
    numbers = _multiples(months - _anchor_month(offset, base), per_step, groups)
    numbers[~on_day] = np.nan
    return numbers


def _multiples_of_numbers(numbers: np.ndarray, step: int, groups: np.ndarray) -> np.ndarray:
    if step == 1:
        return numbers
    whole = np.isfinite(numbers)
    result = np.full(len(numbers), np.nan)
    result[whole] = _multiples(numbers[whole].astype(np.int64), step, groups[whole])
    return result


def _anchor_month(offset: pd.DateOffset, base: str) -> int:
    """The month (0-11) that a quarter or year step is anchored on; 0 for months."""
    if base in ("QS", "YS"):
        return (getattr(offset, "startingMonth", None) or getattr(offset, "month", 1)) - 1
    if base in ("QE", "YE"):
        return (getattr(offset, "startingMonth", None) or getattr(offset, "month", 12)) - 1
    return 0


def rule_base(offset: pd.DateOffset) -> str:
    """'MS', 'QS', 'W', 'B', 'D', ... of an offset ('QS-JAN' -> 'QS', 'W-SUN' -> 'W')."""
    return offset.rule_code.split("-")[0]


def seasonal_period(freq: str) -> int:
    """Steps per season: a day of steps for sub-daily data (24 hourly, 48 half-hourly, 288 five-minute),
    a week for daily data (7; 5 for business days), a year for weekly (52), monthly (12) and quarterly (4)
    data, 1 for yearly data (no season)."""
    offset = to_offset(freq)
    if isinstance(offset, pd.offsets.Tick):
        return max(1, int(round(DAY_NS / pd.Timedelta(offset).value)))
    per_season = _PER_YEAR.get(rule_base(offset), 1)
    return max(1, per_season // offset.n) if per_season % offset.n == 0 else 1


def describe(freq: str) -> str:
    """Words for a frequency: 'month starts (MS)', 'every 30 minutes (30min)'."""
    offset = to_offset(freq)
    name = _NAMES.get(rule_base(offset), freq)
    return f"{name} ({freq})" if offset.n == 1 else f"every {offset.n} {name} ({freq})"


def future_stamps(
    last: pd.DatetimeIndex, horizon: int, freq: str, zone: str | None = None
) -> pd.DatetimeIndex:
    """The `horizon` stamps after each of `last`, series after series: (len(last) * horizon,), in `last`'s
    zone. Calendar steps are taken on the wall clock of `zone`, so month starts stay month starts there."""
    offset = to_offset(freq)
    if isinstance(offset, pd.offsets.Tick):
        step = pd.Timedelta(offset).value  # nanoseconds
        stamps = last.as_unit("ns").asi8[:, None] + step * np.arange(1, horizon + 1)[None, :]
        naive = pd.DatetimeIndex(stamps.reshape(-1).view("datetime64[ns]"))
        return naive if last.tz is None else naive.tz_localize("UTC").tz_convert(last.tz)
    wall = wall_clock(last, zone)
    # (S, T): step k of every series at once; a loop over the horizon, not over the series
    ahead = np.stack([(wall + k * offset).as_unit("ns").asi8 for k in range(1, horizon + 1)], axis=1)
    naive = pd.DatetimeIndex(ahead.reshape(-1).view("datetime64[ns]"))
    if last.tz is None:
        return naive
    local = naive.tz_localize(zone or "UTC", ambiguous=True, nonexistent="shift_forward")
    return local.tz_convert(last.tz)
