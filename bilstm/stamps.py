"""Timestamps with or without UTC offsets. Stamps with offsets (`+08:00`, `Z`, or the changing offsets of a
local time with daylight saving) become one UTC time line, a regular grid; the data's zone kept beside it
('+08:00', 'UTC' or `data.timezone`) is where forecast stamps are shown. Stamps without offsets stay naive,
as they are, unless `data.timezone` names their zone.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bilstm.config import DataConfig
from bilstm.csv_dialect import separator_hint
from bilstm.errors import DataValidationError
from bilstm.messages import in_series, names, rows, sample

_OFFSET = r"(Z|UTC|GMT|[+-]\d{2}:?\d{2})$"
MERGE_FIX = "set data.duplicates to first, last or mean to merge them"


def offsets(raw: pd.Series) -> pd.Series:
    """Each stamp's UTC offset as written ('+08:00', '+00:00' for Z), or NA where it has none."""
    if pd.api.types.is_datetime64_dtype(raw.dtype):  # naive datetimes (a Parquet column)
        return pd.Series(pd.NA, index=raw.index, dtype="string")
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        text = pd.Series(raw.dt.strftime("%z").to_numpy(), index=raw.index, dtype="string")
    else:
        text = raw.astype("string").str.strip().str.extract(_OFFSET, flags=2)[0]  # 2: re.IGNORECASE
    text = text.replace("", pd.NA).str.upper().replace({"Z": "+0000", "UTC": "+0000", "GMT": "+0000"})
    return text.str.replace(r"^([+-]\d{2}):?(\d{2})$", r"\1:\2", regex=True)


def to_utc(raw: pd.Series, zone: str) -> pd.Series:
    """UTC instants of `raw`: stamps with an offset are converted; stamps without one are local times in
    `zone`. NaT where a stamp is unparseable, or a local time `zone` skips or repeats (daylight saving)."""
    aware = offsets(raw).notna().to_numpy()
    result = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    if aware.any():
        result[aware] = pd.to_datetime(raw[aware], utc=True, errors="coerce")
    if not aware.all():
        naive = pd.to_datetime(raw[~aware], errors="coerce")
        local = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        result[~aware] = local.dt.tz_convert("UTC")
    return result


def as_text(frame: pd.DataFrame, zone: str | None) -> pd.DataFrame:
    """`frame` with its zoned datetime columns as ISO text in `zone` ('2024-01-01 08:00:00+08:00'), which
    schemas without zones (MLflow's) take; naive datetimes stay datetimes."""
    zoned = {c: frame[c] for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)}
    return frame.assign(**{str(c): v.dt.tz_convert(zone or "UTC").astype(str) for c, v in zoned.items()})


def time_index(table: pd.DataFrame, config: DataConfig, source: str) -> tuple[pd.DatetimeIndex, str | None]:
    """The time column parsed and checked: (index, zone). The index is naive for stamps without offsets
    (and no `data.timezone`), else UTC; zone is None, or where forecast stamps are shown."""
    column = config.time_column
    if column not in table.columns:
        fix = separator_hint(table.columns) or " (set --time-column)"
        raise DataValidationError(
            f"{source}: time column {column!r} not found; available: {names(table.columns)}{fix}"
        )
    raw = table[column]
    ids = table[config.series_column] if config.series_column in table.columns else None
    written = offsets(raw)
    aware = written.notna().to_numpy()
    # each kind parsed on its own: pandas reads one format per column and would drop the other kind
    with_offset = pd.to_datetime(raw[aware], utc=True, errors="coerce")
    without = pd.to_datetime(raw[~aware], errors="coerce")
    bad = pd.concat([with_offset.isna(), without.isna()]).reindex(raw.index)
    if bad.any():
        raise DataValidationError(
            f"{source}: column {column!r} has unparseable timestamps in {rows(bad)}{in_series(ids, bad)}"
            f" (e.g. {sample(raw[bad].iloc[0])})"
        )
    if aware.any() and not aware.all():
        raise DataValidationError(
            f"{source}: column {column!r} mixes stamps with a UTC offset (e.g. {sample(raw[aware].iloc[0])})"
            f" and stamps without one ({rows(~aware)}{in_series(ids, ~aware)}); write every stamp with its"
            " offset, or none"
        )
    parsed = with_offset if aware.any() else without
    zone = config.timezone
    if aware.any() and zone is None:
        zone = _zone_of(written.unique().tolist(), column, source)
    elif zone is not None and not aware.any():
        parsed = _localize(parsed, raw, zone, column, source)
    if config.duplicates == "error":  # else they are merged, by `bilstm.duplicates`
        if config.series_column is None:
            _check_unique(table, parsed, column, source)
        else:
            _check_unique_per_series(table[config.series_column], parsed, column, source)
    return pd.DatetimeIndex(parsed, name=column), zone


def _zone_of(written: list[str], column: str, source: str) -> str:
    """The one offset of the stamps; UTC, with a warning, when they mix offsets."""
    if len(written) == 1:
        return "UTC" if written[0] == "+00:00" else written[0]
    warnings.warn(
        f"{source}: column {column!r} mixes UTC offsets ({names(sorted(written))}), as local time with"
        " daylight saving does; forecast stamps will be in UTC: set data.timezone (e.g. Europe/Berlin)"
        " to have them in local time",
        stacklevel=4,
    )
    return "UTC"


def _localize(parsed: pd.Series, raw: pd.Series, zone: str, column: str, source: str) -> pd.Series:
    local = parsed.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    unclear = local.isna()
    if unclear.any():
        raise DataValidationError(
            f"{source}: column {column!r} has local times that {zone} skips or repeats (daylight saving) in"
            f" {rows(unclear)} (e.g. {sample(raw[unclear].iloc[0])}); write the stamps with their UTC offsets"
        )
    return local.dt.tz_convert("UTC")


def _check_unique(table: pd.DataFrame, parsed: pd.Series, column: str, source: str) -> None:
    duplicated = parsed.duplicated(keep=False)
    if not duplicated.any():
        return
    message = f"{source}: column {column!r} has duplicate timestamps in {rows(duplicated)}"
    series_column = _series_column(table.drop(columns=column), parsed, duplicated.mean())
    if series_column is not None:
        count = table[series_column].nunique()
        message += (
            f": this looks like {count} series in one table, told apart by column {sample(series_column)};"
            f" pass --series-column {series_column} to train one model across them"
        )
    else:
        message += f"; {MERGE_FIX}, or drop them"
    raise DataValidationError(message)


def _check_unique_per_series(ids: pd.Series, parsed: pd.Series, column: str, source: str) -> None:
    """Each series' stamps are unique: a repeated (series, time) pair is an error naming the series."""
    duplicated = pd.DataFrame({"id": ids.to_numpy(), "time": parsed.to_numpy()}).duplicated(keep=False)
    if not duplicated.any():
        return
    first = ids[duplicated.to_numpy()].iloc[0]
    same = (ids == first).to_numpy() & duplicated.to_numpy()
    more = ids[duplicated.to_numpy()].nunique() - 1
    others = f" (and {more} more series)" if more else ""
    raise DataValidationError(
        f"{source}: series {sample(first)} has duplicate timestamps in column {column!r} in {rows(same)}"
        f"{others}; keep one row per series and time, or {MERGE_FIX}"
    )


def _series_column(others: pd.DataFrame, parsed: pd.Series, share: float) -> str | None:
    """A column that tells several series of one long table apart: text or few integer codes, each value
    with its own unique timestamps. None when most stamps are not repeated (a stray duplicate)."""
    if share < 0.5:
        return None
    for name in others.columns:
        values = others[name]
        distinct = values.nunique()
        if not 2 <= distinct <= len(values) // 2:
            continue
        if pd.api.types.is_numeric_dtype(values):
            numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
            if not (np.isfinite(numbers).all() and (numbers == np.round(numbers)).all() and distinct <= 100):
                continue
        if not pd.DataFrame({"time": parsed.to_numpy(), "id": values.to_numpy()}).duplicated().any():
            return str(name)
    return None
