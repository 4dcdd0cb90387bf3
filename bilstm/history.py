"""A forecast's history read as the model reads it: the ids, stamps and input values of each series in time
order, checked where the network reads them (each series' last `lookback` rows). A history that cannot be
forecast from is a `ForecastInputError` of one line naming the column or the series.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bilstm.errors import ForecastInputError
from bilstm.messages import names, sample
from bilstm.scaling import ONE_SERIES
from bilstm.stamps import offsets, to_utc

if TYPE_CHECKING:
    from bilstm.forecaster import WindowSpec


@dataclass
class History:
    """Rows grouped by series and sorted in time: row r of series codes[r] (an index into `ids`)."""

    ids: np.ndarray  # (S,) text ids, sorted; the one series' id for a model without a series column
    codes: np.ndarray  # (rows,)
    times: pd.DatetimeIndex  # naive, or UTC where the model's stamps are zoned
    values: np.ndarray  # (rows, C) the model's input columns
    keep: np.ndarray  # (S,) the series with at least `lookback` rows


def read_history(spec: WindowSpec, history: pd.DataFrame, skip_short: bool = False) -> History:
    """`history` as the model of `spec` reads it; a series with fewer than `lookback` rows is an error, or,
    with `skip_short` (and another series long enough), left out with a warning."""
    ids, times, values = history_arrays(spec, history)
    codes, uniques = pd.factorize(ids, sort=True)
    order = np.lexsort((times.asi8, codes))
    codes, times, values = codes[order], times[order], values[order]
    counts = np.bincount(codes, minlength=len(uniques))
    keep = _long_enough(spec, counts, uniques, skip_short)
    ends = np.cumsum(counts)[keep]
    read = (np.arange(spec.lookback)[None, :] + ends[:, None] - spec.lookback).reshape(-1)
    if times[read].isna().any():
        raise ForecastInputError(f"history has unparseable timestamps in {spec.time_column!r}")
    finite = np.isfinite(values[read]).all(axis=1)
    if not finite.all():
        if spec.series_column is None:
            raise ForecastInputError(
                f"history has NaN or inf in the last {spec.lookback} rows; fill them first"
            )
        bad = uniques[codes[read[~finite][0]]]
        raise ForecastInputError(f"history has NaN or inf values (series {sample(bad)}); fill them first")
    return History(np.asarray(uniques, dtype=object), codes, times, values, keep)


def history_arrays(
    spec: WindowSpec, history: pd.DataFrame
) -> tuple[np.ndarray, pd.DatetimeIndex, np.ndarray]:
    """(ids as text, stamps, input columns' values) of `history`, checked; the stamps UTC where the model's
    stamps are zoned; every row of one series where the model has no series column."""
    if spec.time_column in history.columns:
        stamps = history[spec.time_column]
    elif spec.series_column is None and isinstance(history.index, pd.DatetimeIndex):
        stamps = history.index.to_series(index=history.index)
    else:
        raise ForecastInputError(f"history has no time column {spec.time_column!r} and no DatetimeIndex")
    needed = [spec.series_column] if spec.series_column else []
    missing = [c for c in needed + spec.input_columns if c not in history.columns]
    if missing and spec.series_column is None:
        raise ForecastInputError(
            f"history lacks column(s) {', '.join(missing)} that the model was trained on"
            f" ({', '.join(spec.input_columns)})"
        )
    if missing:
        raise ForecastInputError(
            f"history lacks column(s) {', '.join(missing)}; the model reads a long table with"
            f" {spec.series_column}, {spec.time_column} and {', '.join(spec.input_columns)}"
        )
    if spec.series_column is None:
        ids = np.repeat(ONE_SERIES, len(history))
    elif history[spec.series_column].isna().any():
        raise ForecastInputError(f"history has rows without a series id in {spec.series_column!r}")
    else:
        ids = history[spec.series_column].astype(str).to_numpy()
    values = history[spec.input_columns].to_numpy(dtype=np.float64)
    return ids, _stamps(spec, stamps).as_unit("ns"), values


def _stamps(spec: WindowSpec, stamps: pd.Series) -> pd.DatetimeIndex:
    """The history's stamps on the time line the model was trained on: naive, or UTC."""
    if spec.timezone is not None:
        return pd.DatetimeIndex(to_utc(stamps, spec.timezone))
    if offsets(stamps).notna().any():
        raise ForecastInputError(
            f"history stamps in {spec.time_column!r} carry UTC offsets; this model was trained on"
            " stamps without offsets: pass them as the model was trained (without offsets)"
        )
    return pd.DatetimeIndex(pd.to_datetime(stamps, errors="coerce"))


def _long_enough(spec: WindowSpec, counts: np.ndarray, ids: np.ndarray, skip_short: bool) -> np.ndarray:
    lookback, short = spec.lookback, counts < spec.lookback
    if not short.any():
        return ~short
    if spec.series_column is None:
        raise ForecastInputError(f"history has {counts[0]} rows; the model needs the last {lookback}")
    message = (
        f"history has series {names([str(i) for i in ids[short]])} with fewer than the {lookback} rows"
        f" the model reads ({', '.join(str(c) for c in counts[short][:3])} rows)"
    )
    if not skip_short or short.all():
        raise ForecastInputError(message + "; give them more rows, or pass --skip-short to leave them out")
    warnings.warn(message + "; left out", stacklevel=4)
    return ~short
