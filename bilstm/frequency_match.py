"""Whether data steps at a model's frequency, checked before a forecast or a monitoring run reads it: daily
data handed to an hourly model would be forecast with hourly stamps and scored as if it were hourly. Two
fixed steps must be equal, two calendar ones must lie on one grid (quarter starts anchored in January or in
October are one grid); a model's fixed step against data's calendar one (a model registered before calendar
frequencies, stored as `744h`, and monthly data) passes where the fixed step is one of the calendar step's
lengths, within an hour.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from bilstm.calendar_steps import DAY_NS, describe
from bilstm.config import DataConfig
from bilstm.errors import DataValidationError
from bilstm.frequency import Stamps, infer
from bilstm.job import canonical_freq
from bilstm.stamps import time_index

# a calendar step's lengths are read off its grid over these years (leap years, every weekday and month)
_GRID_SPAN = ("2000-01-01", "2009-12-31")
_SLACK = pd.Timedelta(hours=1)  # a day across a daylight-saving change, as an older model may have stored it


def same_frequency(data_freq: str, model_freq: str) -> bool:
    """Does data stepping by `data_freq` fit a model of `model_freq` (pandas aliases, any spelling)?"""
    data, model = to_offset(canonical_freq(data_freq)), to_offset(canonical_freq(model_freq))
    data_fixed, model_fixed = isinstance(data, pd.offsets.Tick), isinstance(model, pd.offsets.Tick)
    if data_fixed and model_fixed:
        return data == model
    if not data_fixed and not model_fixed:
        return data.n == model.n and _grid(data).equals(_grid(model))
    if data_fixed:  # the data's reading finds a calendar step wherever one fits: this data has none
        return False
    lengths = np.diff(_grid(data).asi8) * data.n
    step = pd.Timedelta(model).value
    return lengths.min() - _SLACK.value <= step <= lengths.max() + _SLACK.value


def check_frequency(data_freq: str, model_freq: str, source: str) -> None:
    """Raise `DataValidationError` naming `source` where its frequency is not the model's."""
    if not same_frequency(data_freq, model_freq):
        raise DataValidationError(
            f"{source}: the data steps by {_in_words(data_freq)}, the model by {_in_words(model_freq)};"
            " pass data at the model's frequency"
        )


def table_freq(
    table: pd.DataFrame, source: str, time_column: str, series_column: str | None = None
) -> str | None:
    """The frequency of a table's stamps (of every series of a long table), read as the flows read it; None
    where it cannot be told from the stamps alone (unparseable, one row a series, stamps off any grid):
    the flow's own reading of the file names those."""
    config = DataConfig(time_column=time_column, series_column=series_column, duplicates="last")
    with warnings.catch_warnings():  # gaps, sorting, mixed offsets: the flow's reading warns of them
        warnings.simplefilter("ignore")
        try:
            times, zone = time_index(table, config, source)
        except DataValidationError:
            return None
        ids = table[series_column].astype(str) if series_column is not None else pd.Series(0, table.index)
        codes = pd.factorize(ids, sort=True)[0]
        times = times.as_unit("ns")
        order = np.lexsort((times.asi8, codes))
        codes, times = codes[order], times[order]
        repeated = np.r_[False, (np.diff(codes) == 0) & (np.diff(times.asi8) == 0)]  # merged by the flow
        codes, times, rows = codes[~repeated], times[~repeated], order[~repeated] + 1
        bounds = np.concatenate([[0], np.cumsum(np.bincount(codes))])
        try:
            return infer(Stamps(times, bounds, zone, source, rows, lambda _: ""))
        except DataValidationError:
            return None


def _grid(offset: pd.DateOffset) -> pd.DatetimeIndex:
    """The stamps of one step of `offset` (its multiple aside) over `_GRID_SPAN`."""
    return pd.date_range(*_GRID_SPAN, freq=offset.base, unit="ns")


def _in_words(freq: str) -> str:
    """'hours (h)'; a fixed step of whole days ('24h', as a model's job stores a day) as days: 'days (D)'."""
    offset = to_offset(freq)
    if isinstance(offset, pd.offsets.Tick) and pd.Timedelta(offset).value % DAY_NS == 0:
        days = pd.Timedelta(offset).value // DAY_NS
        return describe(f"{'' if days == 1 else days}D")
    return describe(freq)
