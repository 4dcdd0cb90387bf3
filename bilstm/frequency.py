"""The step between a series' rows as a pandas offset, found from every stamp of every series: a fixed step
(hours, minutes, seconds) or a calendar one (days, business days, weeks on a weekday, month, quarter or year
starts and ends, and their multiples). Calendar steps are read on the wall clock of the data's zone, so daily
data in local time keeps its days across daylight saving. Gaps are counted in steps of that offset.
"""

from __future__ import annotations

import calendar
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from bilstm.errors import DataValidationError
from bilstm.messages import rows as rows_text

DAY_NS = 86_400 * 10**9
_MONTHS = [name.upper() for name in calendar.month_abbr]  # ['', 'JAN', ..., 'DEC']
_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
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
# where the stamps of a calendar frequency must lie, for the message about stamps that do not
_GRIDS = {
    "B": "on a weekday",
    "W": "on the same weekday",
    "M": "on the first or the last day of a month",
    "Q": "on the first or the last day of a quarter's months",
    "Y": "on the first or the last day of a year's month",
}


@dataclass
class Stamps:
    """Sorted stamps of one or more series: series s holds rows bounds[s] <= r < bounds[s + 1].

    `times` are naive, or UTC with `zone` the data's own zone; `file_rows` (1-based) name rows in messages;
    `describe(s)` names series s in messages ("" for a lone series)."""

    times: pd.DatetimeIndex
    bounds: np.ndarray
    zone: str | None
    source: str
    file_rows: np.ndarray
    describe: Callable[[int], str]

    @property
    def series_of_row(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.bounds) - 1), np.diff(self.bounds))

    def within(self) -> np.ndarray:
        """(rows - 1,) True for the steps between two rows of one series."""
        inside = np.ones(max(len(self.times) - 1, 0), dtype=bool)
        inside[self.bounds[1:-1] - 1] = False
        return inside


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
    numbers[clock != _mode_per_group(clock, groups)[groups]] = np.nan
    return numbers


def _mode(values: np.ndarray) -> int:
    unique, counts = np.unique(values, return_counts=True)
    return int(unique[counts.argmax()])


def _mode_per_group(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(groups,) the most common value of each group (the smallest of the most common)."""
    pairs, counts = np.unique(np.stack([groups, values]), axis=1, return_counts=True)
    order = np.lexsort((-pairs[1], counts, pairs[0]))  # by group, then count, then value falling
    last = np.r_[pairs[0][order][1:] != pairs[0][order][:-1], True]
    modes = np.zeros(int(groups.max()) + 1 if len(groups) else 0, dtype=values.dtype)
    modes[pairs[0][order][last]] = pairs[1][order][last]
    return modes


def _multiples(values: np.ndarray, step: int, groups: np.ndarray) -> np.ndarray:
    """values / step where whole once each group's most common remainder is taken off, else NaN."""
    remainder = values % step
    phase = _mode_per_group(remainder, groups)[groups]
    numbers = ((values - phase) // step).astype(np.float64)
    numbers[remainder != phase] = np.nan
    return numbers


def _calendar_numbers(
    wall: pd.DatetimeIndex, days: np.ndarray, offset: pd.DateOffset, groups: np.ndarray
) -> np.ndarray:
    base, n = _base(offset), offset.n
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


def _base(offset: pd.DateOffset) -> str:
    """'MS', 'QS', 'W', 'B', 'D', ... of an offset ('QS-JAN' -> 'QS', 'W-SUN' -> 'W')."""
    return offset.rule_code.split("-")[0]


def seasonal_period(freq: str) -> int:
    """Steps per season: a day of steps for sub-daily data (24 hourly, 48 half-hourly, 288 five-minute),
    a week for daily data (7; 5 for business days), a year for weekly (52), monthly (12) and quarterly (4)
    data, 1 for yearly data (no season)."""
    offset = to_offset(freq)
    if isinstance(offset, pd.offsets.Tick):
        return max(1, int(round(DAY_NS / pd.Timedelta(offset).value)))
    per_season = _PER_YEAR.get(_base(offset), 1)
    return max(1, per_season // offset.n) if per_season % offset.n == 0 else 1


def describe(freq: str) -> str:
    """Words for a frequency: 'month starts (MS)', 'every 30 minutes (30min)'."""
    offset = to_offset(freq)
    name = _NAMES.get(_base(offset), freq)
    return f"{name} ({freq})" if offset.n == 1 else f"every {offset.n} {name} ({freq})"


def infer(stamps: Stamps, max_gap: float = np.inf) -> str:
    """The one frequency of all series of `stamps`, as a pandas offset alias ('h', 'MS', 'QS-JAN', 'B').

    Every stamp must lie on its grid; a series must step by one step of it but for gaps of at most `max_gap`
    steps (accepted with a warning). Anything else is a `DataValidationError` naming the rows.
    """
    within = stamps.within()
    if not within.any():
        raise DataValidationError(f"{stamps.source}: need at least 2 rows per series to infer the frequency")
    freq = _candidate(stamps, within)
    numbers = step_numbers(stamps.times, freq, stamps.zone, stamps.series_of_row)
    off_grid = np.isnan(numbers)
    if off_grid.any():
        _refuse_off_grid(stamps, off_grid, freq)
    steps = np.diff(numbers)[within]
    _check_one_step_per_series(stamps, steps, within, freq)
    _check_gaps(stamps, np.diff(numbers), within, freq, max_gap)
    return freq


def _candidate(stamps: Stamps, within: np.ndarray) -> str:
    """The most common step as an offset: fixed below a day, else read on the wall clock."""
    utc_steps = np.diff(stamps.times.as_unit("ns").asi8)[within]
    common = _mode(utc_steps)
    if common < DAY_NS * 0.9:  # 0.9: a day across a daylight-saving change lasts 23 hours
        return to_offset(pd.Timedelta(common, unit="ns")).freqstr
    wall = wall_clock(stamps.times, stamps.zone).as_unit("ns")
    days = wall.normalize().asi8 // DAY_NS
    day_steps = np.diff(days)[within]
    common_days = _mode(day_steps)
    if common_days >= 28:
        return _monthly(wall, within)
    if common_days % 7 == 0:
        weekdays = (days + 3) % 7
        weeks = common_days // 7
        return f"{'' if weeks == 1 else weeks}W-{_WEEKDAYS[_mode(weekdays)]}"
    weekend = ((days + 3) % 7) >= 5
    if common_days == 1 and not weekend.any() and (day_steps == 3).any():
        return "B"
    return f"{'' if common_days == 1 else common_days}D"


def _monthly(wall: pd.DatetimeIndex, within: np.ndarray) -> str:
    """Month, quarter or year starts or ends (and their multiples), by the stamps' days and months."""
    months = wall.year.to_numpy() * 12 + wall.month.to_numpy() - 1
    count = _mode(np.diff(months)[within])
    ends = (wall.day.to_numpy() == wall.days_in_month.to_numpy()).mean()
    starts = (wall.day.to_numpy() == 1).mean()
    kind = "E" if ends > starts else "S"
    anchor = _mode(months % count) if count in (3, 12) else 0  # the month (0-11) the steps fall on
    if count % 12 == 0:
        return f"{'' if count == 12 else count // 12}Y{kind}-{_MONTHS[anchor + 1]}"
    if count % 3 == 0:
        first = (
            anchor % 3 if kind == "S" else anchor % 3 + 9
        )  # pandas names a quarter by its first / last month
        return f"{'' if count == 3 else count // 3}Q{kind}-{_MONTHS[first + 1]}"
    return f"{'' if count == 1 else count}M{kind}"


def _refuse_off_grid(stamps: Stamps, off_grid: np.ndarray, freq: str) -> None:
    first = int(np.flatnonzero(off_grid)[0])
    series = stamps.describe(int(stamps.series_of_row[first]))
    where = f"{series} " if series else ""
    shown = stamps.times[off_grid][:3]
    if stamps.times.tz is not None:
        shown = shown.tz_convert(stamps.zone or "UTC")
    calendar_grid = _GRIDS.get(_base(to_offset(freq))[0])
    grid = f"{calendar_grid} at the same time of day" if calendar_grid else "on that grid"
    raise DataValidationError(
        f"{stamps.source}: {where}the stamps fit no frequency: most steps are {describe(freq)}, but"
        f" {rows_text(_file_mask(stamps, off_grid))} ({', '.join(str(t) for t in shown)}) are not {grid};"
        " fix or drop those rows, or resample the data to one frequency"
    )


def _file_mask(stamps: Stamps, mask: np.ndarray) -> np.ndarray:
    """`mask` over the sorted rows as a mask over the file's rows, for `messages.rows`."""
    in_file = np.zeros(int(stamps.file_rows.max()), dtype=bool)
    in_file[stamps.file_rows[mask] - 1] = True
    return in_file


def _check_one_step_per_series(stamps: Stamps, steps: np.ndarray, within: np.ndarray, freq: str) -> None:
    """A series that steps by several steps of the table's frequency is another frequency."""
    series_of_step = stamps.series_of_row[:-1][within]
    frame = pd.DataFrame({"series": series_of_step, "steps": steps})
    common = frame.groupby("series")["steps"].agg(lambda s: s.mode().iloc[0])
    other = common[common != 1]
    if len(other):
        more = f" (and {len(other) - 1} more series)" if len(other) > 1 else ""
        raise DataValidationError(
            f"{stamps.source}: {stamps.describe(int(other.index[0]))} steps by {int(other.iloc[0])} steps of"
            f" {freq}, the table by one{more}; one frequency per table: resample that series or put it in"
            " a file of its own"
        )


def _check_gaps(stamps: Stamps, steps: np.ndarray, within: np.ndarray, freq: str, max_gap: float) -> None:
    gaps = np.flatnonzero(within & (steps > 1))
    if not gaps.size:
        return
    too_long = gaps[steps[gaps] > max_gap]
    if too_long.size:
        i = int(too_long[0])
        series = stamps.describe(int(stamps.series_of_row[i]))
        before, after = stamps.times[i], stamps.times[i + 1]
        more = f" (and {too_long.size - 1} more such gaps)" if too_long.size > 1 else ""
        raise DataValidationError(
            f"{stamps.source}: {series + ' has ' if series else ''}a gap of {after - before} between rows"
            f" {stamps.file_rows[i]} and {stamps.file_rows[i + 1]} ({before} -> {after}){more} is longer than"
            f" data.max_gap={max_gap:g} steps of {freq}; fill or resample the missing timestamps, or raise"
            " data.max_gap"
        )
    missing = int((steps[gaps] - 1).sum())
    warnings.warn(
        f"{stamps.source}: timestamps are not evenly spaced: {gaps.size} gap(s) with {missing} missing"
        f" step(s) of {freq} in all (at most {int(steps[gaps].max()) - 1} in a row); windows read the rows"
        " on either side of a gap as neighbours",
        stacklevel=4,
    )


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
