"""Calendar and holiday features derived from the stamps alone, so they are known for any future step: the
phase of the time of day, week, month, quarter and year as a sine and cosine (bounded, and continuous across
the wrap: 23:00 lies next to 00:00), and per country a holiday flag with the days to the next and since the
last holiday, all read on the wall clock the stamps show. `check` names the choices, `columns` the outputs.
"""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from bilstm.calendar_steps import describe
from bilstm.errors import DataValidationError

HOLIDAY = "holiday"
NAMES = ("minute", "hour", "dayofweek", "dayofmonth", "weekofyear", "month", "quarter", "dayofyear")
PREFIX = "calendar_"  # on every derived column, so none clashes with a user's column
HOLIDAY_REACH = 7  # days to/since a holiday are clipped here and divided by it: 1.0 means a week or more

_HOUR_NS = 3_600 * 10**9
_DAY_NS = 24 * _HOUR_NS
# the step whose multiples leave a feature the same at every stamp; features of months and years vary
# on any fixed step
_FIXED_PERIODS = {"minute": _HOUR_NS, "hour": _DAY_NS, "dayofweek": 7 * _DAY_NS}
_TIME_OF_DAY = ("minute", "hour")  # the features that change within a date


def _phase(name: str, wall: pd.DatetimeIndex) -> np.ndarray:
    """(N,) where each stamp lies in the cycle of `name`, in [0, 1]."""
    if name == "minute":  # of the hour, for sub-hourly data
        return (wall.minute + wall.second / 60) / 60
    if name == "hour":  # the time of day: minutes count as fractions of an hour
        return (wall.hour + wall.minute / 60 + wall.second / 3_600) / 24
    if name == "dayofweek":  # Monday 0
        return wall.dayofweek / 7
    if name == "dayofmonth":  # of that month's length, so the last day lies next to the first
        return (wall.day - 1) / wall.days_in_month
    if name == "weekofyear":  # ISO week; week 53 meets week 1
        return (wall.isocalendar().week.to_numpy(np.float64) - 1) / 52
    if name == "month":
        return (wall.month - 1) / 12
    if name == "quarter":
        return (wall.quarter - 1) / 4
    return (wall.dayofyear - 1) / (365 + wall.is_leap_year)  # dayofyear


def _choices() -> str:
    return ", ".join(NAMES) + f", {HOLIDAY}:<country> (e.g. {HOLIDAY}:DE, {HOLIDAY}:US-CA)"


@lru_cache(maxsize=64)
def _holiday_code(entry: str, place: str) -> str:
    """'de' -> 'DE', 'us-ca' -> 'US-CA', 'DEU' -> 'DE': the country (and subdivision) as `holidays` names
    them; ValueError naming `entry` when it knows neither."""
    country, _, subdivision = place.strip().partition("-")
    known = holidays.list_supported_countries()  # alpha-2 and alpha-3 codes -> their subdivisions
    if country.upper() not in known:
        raise ValueError(
            f"{entry}: {country or '(empty)'} is not a country code the holidays package knows"
            f" (e.g. {HOLIDAY}:DE, {HOLIDAY}:US)"
        )
    country = holidays.country_holidays(country.upper()).country  # an alpha-3 code to its alpha-2 one
    if not subdivision:
        return country
    subdivisions = {code.upper(): code for code in known[country]}
    if subdivision.upper() not in subdivisions:
        examples = ", ".join(f"{HOLIDAY}:{country}-{code}" for code in known[country][:3])
        choices = f" (e.g. {examples})" if examples else f"; it knows no subdivisions of {country}"
        raise ValueError(
            f"{entry}: {subdivision} is not a subdivision of {country} the holidays package knows{choices}"
        )
    return f"{country}-{subdivisions[subdivision.upper()]}"


def check(calendar: list[str]) -> list[str]:
    """The calendar features validated and normalised: names in lower case, holiday places as `holidays`
    codes ('holiday:de' -> 'holiday:DE', 'holiday:us-ca' -> 'holiday:US-CA', 'holiday:DEU' ->
    'holiday:DE'), repeats dropped, order kept. ValueError, one line naming the entry and the choices, for
    an entry that is none of them."""
    normalised: list[str] = []
    for entry in calendar:
        name, colon, place = entry.strip().partition(":")
        name = name.strip().lower()
        if name == HOLIDAY and colon:
            entry = f"{HOLIDAY}:{_holiday_code(entry, place)}"
        elif name == HOLIDAY:
            raise ValueError(f"calendar feature {entry!r} needs a country: {HOLIDAY}:DE, {HOLIDAY}:US, ...")
        elif name in NAMES and not colon:
            entry = name
        else:
            raise ValueError(f"unknown calendar feature {entry!r}; choose from {_choices()}")
        if entry not in normalised:
            normalised.append(entry)
    return normalised


def _holiday_place(entry: str) -> str | None:
    """'DE' of 'holiday:DE'; None for a plain feature."""
    name, _, place = entry.partition(":")
    return place if name == HOLIDAY else None


def columns(calendar: list[str]) -> list[str]:
    """The derived columns in order: 'calendar_hour_sin', 'calendar_hour_cos' for hour; for holiday:DE the
    flag 'calendar_holiday_DE', then 'calendar_holiday_DE_days_to' and 'calendar_holiday_DE_days_since'."""
    names: list[str] = []
    for entry in check(calendar):
        place = _holiday_place(entry)
        if place is None:
            names += [f"{PREFIX}{entry}_sin", f"{PREFIX}{entry}_cos"]
        else:
            flag = f"{PREFIX}{HOLIDAY}_{place}"
            names += [flag, f"{flag}_days_to", f"{flag}_days_since"]
    return names


@lru_cache(maxsize=64)
def _holiday_days(place: str, first_year: int, last_year: int) -> np.ndarray:
    """(K,) sorted day numbers (days since 1970-01-01) of the holidays of `place` in those years."""
    country, _, subdivision = place.partition("-")
    dates = holidays.country_holidays(
        country, subdiv=subdivision or None, years=range(first_year, last_year + 1)
    )
    days = np.sort(np.array(list(dates), dtype="datetime64[D]").astype(np.int64))
    days.flags.writeable = False  # shared by every later call through the cache
    return days


def _holiday_values(days: np.ndarray, years: tuple[int, int], place: str) -> np.ndarray:
    """(N, 3) for day numbers `days`: holiday flag, days to the next and since the last holiday (each
    strictly after / before the day itself, clipped at HOLIDAY_REACH and divided by it)."""
    # a year on each side, so the nearest holiday across New Year is known
    holiday_days = _holiday_days(place, years[0] - 1, years[1] + 1)
    after = np.searchsorted(holiday_days, days, side="right")
    before = np.searchsorted(holiday_days, days, side="left")
    padded = np.r_[-np.inf, holiday_days, np.inf]  # no holiday within reach at either end
    is_holiday = (after > before).astype(np.float64)
    days_to = np.minimum(padded[after + 1] - days, HOLIDAY_REACH) / HOLIDAY_REACH
    days_since = np.minimum(days - padded[before], HOLIDAY_REACH) / HOLIDAY_REACH
    return np.stack([is_holiday, days_to, days_since], axis=1)


def values(times: pd.DatetimeIndex, calendar: list[str]) -> np.ndarray:
    """The features of `calendar` at each stamp, read on the wall clock the stamps show (convert tz-aware
    stamps to the series' own zone first; naive ones are taken as they are).

    Args:
        times: (N,) stamps, naive or tz-aware, without NaT.
        calendar: feature names as `check` takes them.

    Returns:
        (N, len(columns(calendar))) float64: sin and cos of each cyclic phase (in [-1, 1]); per holiday place
        a 0/1 flag of the local date and the days to/since the nearest other holiday / 7, in (0, 1].
    """
    calendar = check(calendar)
    wall = times.tz_localize(None) if times.tz is not None else times
    # features of the date are computed once per date (an hourly series has 24 stamps a date), then spread
    days, day_of_row = np.unique(wall.to_numpy().astype("datetime64[D]"), return_inverse=True)
    dates = pd.DatetimeIndex(days)
    years = (int(dates.year.min()), int(dates.year.max())) if len(dates) else (1970, 1970)
    widths = [3 if _holiday_place(entry) else 2 for entry in calendar]
    starts = np.r_[0, np.cumsum(widths)]
    per_date = np.zeros((len(days), starts[-1]))
    for entry, start, stop in zip(calendar, starts[:-1], starts[1:], strict=True):
        place = _holiday_place(entry)
        if place is not None:
            per_date[:, start:stop] = _holiday_values(days.astype(np.int64), years, place)
        elif entry not in _TIME_OF_DAY:
            per_date[:, start:stop] = _sin_cos(_phase(entry, dates))
    features = np.take(per_date, day_of_row, axis=0)
    for entry, start, stop in zip(calendar, starts[:-1], starts[1:], strict=True):
        if entry in _TIME_OF_DAY:
            features[:, start:stop] = _sin_cos(_phase(entry, wall))
    return features


def _sin_cos(phase: np.ndarray) -> np.ndarray:
    """(N, 2) the point of each phase on the unit circle."""
    angle = 2 * np.pi * np.asarray(phase, dtype=np.float64)
    return np.stack([np.sin(angle), np.cos(angle)], axis=1)


def _steady(name: str, offset: pd.DateOffset) -> bool:
    """Whether feature `name` (nearly) repeats its value at every step of `offset`: a fixed step that is a
    multiple of its cycle, or on 200 calendar steps a phase that stays within about a 40th of its cycle
    (the ISO week of year starts, the day of month ends)."""
    if isinstance(offset, pd.offsets.Tick):
        period = _FIXED_PERIODS.get(name)
        return period is not None and pd.Timedelta(offset).value % period == 0
    sample = pd.date_range("2001-01-01", periods=200, freq=offset, unit="s")
    mean_point = _sin_cos(_phase(name, sample)).mean(axis=0)  # near the unit circle when the phases agree
    return float(np.hypot(*mean_point)) > 0.99


def _daily_or_finer(offset: pd.DateOffset) -> bool:
    if isinstance(offset, pd.offsets.Tick):
        return pd.Timedelta(offset).value <= _DAY_NS
    return offset.n == 1 and isinstance(
        offset, (pd.offsets.Day, pd.offsets.BusinessDay, pd.offsets.CustomBusinessDay)
    )


def check_frequency(calendar: list[str], freq: str) -> list[str]:
    """The calendar features as `check` returns them, if each one tells the steps of `freq` (a pandas offset:
    'h', '15min', 'D', 'B', 'W-SUN', 'MS', 'QS-DEC', ...) apart. DataValidationError, one line, for a feature
    that is the same at every step (hour on daily data, dayofweek on weekly, month on yearly; also nearly
    the same: weekofyear on year starts) or a holiday feature on steps longer than a day (a holiday marks
    one day, not a week or month)."""
    calendar = check(calendar)
    offset = to_offset(freq)
    for entry in calendar:
        if _holiday_place(entry) is not None and not _daily_or_finer(offset):
            raise DataValidationError(
                f"calendar feature {entry} marks single days, not steps of {describe(freq)}:"
                f" drop it from data.calendar"
            )
        if _holiday_place(entry) is None and _steady(entry, offset):
            raise DataValidationError(
                f"calendar feature {entry} is constant on steps of {describe(freq)}:"
                f" drop it from data.calendar"
            )
    return calendar
