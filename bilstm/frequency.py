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
from functools import cached_property

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from bilstm.calendar_steps import (
    DAY_NS,
    describe,
    mode_per_group,
    most_common,
    rule_base,
    step_numbers,
    wall_clock,
)
from bilstm.errors import DataValidationError
from bilstm.messages import rows as rows_text

_MONTHS = [name.upper() for name in calendar.month_abbr]  # ['', 'JAN', ..., 'DEC']
_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
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

    @cached_property
    def series_of_row(self) -> np.ndarray:
        """(rows,) the series of each row."""
        return np.repeat(np.arange(len(self.bounds) - 1), np.diff(self.bounds))

    def within(self) -> np.ndarray:
        """(rows - 1,) True for the steps between two rows of one series."""
        inside = np.ones(max(len(self.times) - 1, 0), dtype=bool)
        inside[self.bounds[1:-1] - 1] = False
        return inside


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
    steps = np.diff(numbers)  # (rows - 1,) in steps of `freq`; those across two series are not read
    _check_one_step_per_series(stamps, steps[within], within, freq)
    _check_gaps(stamps, steps, within, freq, max_gap)
    return freq


def _candidate(stamps: Stamps, within: np.ndarray) -> str:
    """The most common step as an offset: fixed below a day, else read on the wall clock."""
    utc_steps = np.diff(stamps.times.as_unit("ns").asi8)[within]
    common = most_common(utc_steps)
    if common < DAY_NS * 0.9:  # 0.9: a day across a daylight-saving change lasts 23 hours
        return to_offset(pd.Timedelta(common, unit="ns")).freqstr
    wall = wall_clock(stamps.times, stamps.zone).as_unit("ns")
    days = wall.normalize().asi8 // DAY_NS
    day_steps = np.diff(days)[within]
    common_days = most_common(day_steps)
    if common_days >= 28:
        return _monthly(wall, within)
    if common_days % 7 == 0:
        weekdays = (days + 3) % 7
        weeks = common_days // 7
        return f"{'' if weeks == 1 else weeks}W-{_WEEKDAYS[most_common(weekdays)]}"
    weekend = ((days + 3) % 7) >= 5
    if common_days == 1 and not weekend.any() and (day_steps == 3).any():
        return "B"
    return f"{'' if common_days == 1 else common_days}D"


def _monthly(wall: pd.DatetimeIndex, within: np.ndarray) -> str:
    """Month, quarter or year starts or ends (and their multiples), by the stamps' days and months."""
    months = wall.year.to_numpy() * 12 + wall.month.to_numpy() - 1
    count = most_common(np.diff(months)[within])
    ends = (wall.day.to_numpy() == wall.days_in_month.to_numpy()).mean()
    starts = (wall.day.to_numpy() == 1).mean()
    kind = "E" if ends > starts else "S"
    anchor = most_common(months % count) if count in (3, 12) else 0  # the month (0-11) the steps fall on
    if count % 12 == 0:
        return f"{'' if count == 12 else count // 12}Y{kind}-{_MONTHS[anchor + 1]}"
    if count % 3 == 0:
        # pandas names a quarter by its first month (starts) or its last (ends)
        first = anchor % 3 if kind == "S" else anchor % 3 + 9
        return f"{'' if count == 3 else count // 3}Q{kind}-{_MONTHS[first + 1]}"
    return f"{'' if count == 1 else count}M{kind}"


def _refuse_off_grid(stamps: Stamps, off_grid: np.ndarray, freq: str) -> None:
    first = int(np.flatnonzero(off_grid)[0])
    series = stamps.describe(int(stamps.series_of_row[first]))
    where = f"of {series} " if series else ""
    shown = stamps.times[off_grid][:3]
    if stamps.times.tz is not None:
        shown = shown.tz_convert(stamps.zone or "UTC")
    calendar_grid = _GRIDS.get(rule_base(to_offset(freq))[0])
    grid = f"{calendar_grid} at the same time of day" if calendar_grid else "on that grid"
    raise DataValidationError(
        f"{stamps.source}: the stamps {where}fit no frequency: most steps are {describe(freq)}, but"
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
    common = mode_per_group(steps.astype(np.int64), series_of_step)
    other = np.flatnonzero((common != 1) & (np.bincount(series_of_step, minlength=len(common)) > 0))
    if len(other):
        more = f" (and {len(other) - 1} more series)" if len(other) > 1 else ""
        raise DataValidationError(
            f"{stamps.source}: {stamps.describe(int(other[0]))} steps by {int(common[other[0]])} steps of"
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
