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

from bilstm import calendar_features
from bilstm.errors import ForecastInputError, FutureDataError
from bilstm.messages import names, sample
from bilstm.scaling import ONE_SERIES
from bilstm.stamps import offsets, to_utc

if TYPE_CHECKING:
    from bilstm.window_spec import WindowSpec


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
    read = [c for c in spec.input_columns if c not in spec.calendar_columns]  # the calendar's are derived
    missing = [c for c in needed + read if c not in history.columns]
    if missing and spec.series_column is None:
        raise ForecastInputError(
            f"history lacks column(s) {', '.join(missing)} that the model was trained on ({', '.join(read)})"
        )
    if missing:
        raise ForecastInputError(
            f"history lacks column(s) {', '.join(missing)}; the model reads a long table with"
            f" {spec.series_column}, {spec.time_column} and {', '.join(read)}"
        )
    if spec.series_column is not None and history[spec.series_column].isna().any():
        raise ForecastInputError(f"history has rows without a series id in {spec.series_column!r}")
    ids = history_ids(spec, history)
    times = history_stamps(spec, stamps).as_unit("ns")
    frame = history[read].astype(np.float64)
    if spec.calendar:
        derived = calendar_features.values(shown_stamps(spec, times), spec.calendar)
        frame = frame.assign(**dict(zip(spec.calendar_columns, derived.T, strict=True)))
    return ids, times, frame[spec.input_columns].to_numpy(dtype=np.float64)


def read_future(
    spec: WindowSpec, future: pd.DataFrame | None, ids: np.ndarray, stamps: pd.DatetimeIndex
) -> np.ndarray:
    """(S*T, K) the known columns (`spec.known_columns`) at the horizon's `stamps`, T of each of the series
    `ids` in turn: the future columns from the `future` table, which must hold each of those stamps once and
    nothing else, and the calendar's derived from the stamps."""
    horizon = len(stamps) // max(len(ids), 1)
    if future is not None and not spec.future_columns:
        raise FutureDataError(
            "the model reads no future columns (trained without data.future): drop the future data"
        )
    parts = []
    if spec.future_columns:
        parts.append(_given_future(spec, future, ids, stamps, horizon))
    if spec.calendar:
        parts.append(calendar_features.values(shown_stamps(spec, stamps), spec.calendar))
    return np.concatenate(parts, axis=1)


def _given_future(
    spec: WindowSpec, future: pd.DataFrame | None, ids: np.ndarray, stamps: pd.DatetimeIndex, horizon: int
) -> np.ndarray:
    columns = spec.future_columns
    if future is None:
        raise FutureDataError(
            f"the model reads {names(columns)} over the horizon: pass their values for the {horizon} steps"
            " after each series' last row as future data (bilstm forecast --future-data FILE)"
        )
    needed = [spec.time_column] + ([spec.series_column] if spec.series_column else []) + columns
    missing = [c for c in needed if c not in future.columns]
    if missing:
        raise FutureDataError(f"future data lacks column(s) {names(missing)}; it needs {names(needed)}")
    given = pd.DataFrame(
        {
            "id": history_ids(spec, future),
            "t": history_stamps(spec, future[spec.time_column]).as_unit("ns").asi8,
            "row": np.arange(len(future)),
        }
    )
    expected = pd.DataFrame({"id": np.repeat(ids, horizon).astype(str), "t": stamps.as_unit("ns").asi8})

    def where(rows: pd.DataFrame) -> str:
        first = rows.iloc[0]
        shown = shown_stamps(spec, pd.DatetimeIndex([first["t"]], tz="UTC" if spec.timezone else None))[0]
        of = f"series {sample(first['id'])} at " if spec.series_column else ""
        return f"{of}{shown}" + (f" (and {len(rows) - 1} more)" if len(rows) > 1 else "")

    span = f"the {horizon} stamps after each series' last history row"
    twice = given[given.duplicated(["id", "t"], keep=False)]
    if len(twice):
        raise FutureDataError(f"future data has two rows for {where(twice)}; keep one")
    matched = expected.merge(given, on=["id", "t"], how="left")
    if matched["row"].isna().any():
        raise FutureDataError(
            f"future data has no row for {where(matched[matched['row'].isna()])}: it needs {span}"
        )
    extra = given[~given.set_index(["id", "t"]).index.isin(expected.set_index(["id", "t"]).index)]
    if len(extra):
        raise FutureDataError(
            f"future data has rows outside the horizon: {where(extra)}; it holds {span} only"
        )
    try:
        values = future[columns].to_numpy(dtype=np.float64)[matched["row"].to_numpy(dtype=np.int64)]
    except ValueError:
        raise FutureDataError(f"future data columns {names(columns)} must be numeric") from None
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise FutureDataError(
            f"future data has NaN or inf in {sample(columns[column])} for {where(expected.iloc[[row]])};"
            " fill it"
        )
    return values


def split_future_rows(spec: WindowSpec, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """One table of history and future rows, as the pyfunc model takes it, cut in two: the rows whose targets
    are all empty are the future rows (None for a model without future columns, which reads every row)."""
    if not spec.future_columns or not set(spec.target_columns) <= set(table.columns):
        return table, None
    ahead = table[spec.target_columns].isna().all(axis=1).to_numpy()
    return table[~ahead], table[ahead]


def history_ids(spec: WindowSpec, table: pd.DataFrame) -> np.ndarray:
    """Each row's series id as text: the one series' for a model without a series column."""
    if spec.series_column is None:
        return np.repeat(ONE_SERIES, len(table))
    return table[spec.series_column].astype(str).to_numpy()


def shown_stamps(spec: WindowSpec, times: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Stamps of the model's time line as its data shows them: in its zone, where it has one."""
    return times if spec.timezone is None else times.tz_convert(spec.timezone)


def history_stamps(spec: WindowSpec, stamps: pd.Series) -> pd.DatetimeIndex:
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
