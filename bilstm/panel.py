"""Many series in one long table (time, series id, values): reading and validating it as a `Panel`.

A panel keeps one contiguous array per column, the rows of each series together and in time order, and the
row offsets of the series; windows (`bilstm.split`) are then views that never cross a series boundary.
Errors name the file, the series and its file rows. All series share the table's one frequency.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from bilstm.config import DataConfig
from bilstm.csv_dialect import separator_hint
from bilstm.data import builtin_path, check_numeric, read_table, used_columns
from bilstm.duplicates import merge_duplicates
from bilstm.errors import DataValidationError
from bilstm.frequency import Stamps, infer
from bilstm.messages import names, rows, sample
from bilstm.stamps import time_index


@dataclass
class Panel:
    """Validated series of one long table: row r is of series s where offsets[s] <= r < offsets[s + 1]."""

    frame: pd.DataFrame  # input_columns (features first, targets last), series after series, in time order
    times: pd.DatetimeIndex  # the stamp of each row; UTC where `timezone` is set
    ids: np.ndarray  # (S,) series ids as text, sorted
    offsets: np.ndarray  # (S + 1,) int64
    file_rows: np.ndarray  # 1-based file row of each row, for error messages
    source: str
    name: str
    series_column: str
    input_columns: list[str]
    target_columns: list[str]
    freq: str
    timezone: str | None = None
    notes: list[str] = field(default_factory=list)  # what loading warned of, for the run's summary

    @property
    def values(self) -> np.ndarray:
        """(rows, len(input_columns)) float64 in original units."""
        return self.frame[self.input_columns].to_numpy(dtype=np.float64)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def row_series(self) -> np.ndarray:
        """(rows,) the series number of each row."""
        return np.repeat(np.arange(len(self.ids)), self.lengths)

    def rows_of(self, series: int) -> slice:
        return slice(int(self.offsets[series]), int(self.offsets[series + 1]))

    def described(self, series: int) -> str:
        """'series 'H3' (file rows 701-1400)', for messages."""
        file_rows = self.file_rows[self.rows_of(series)]
        return f"series {sample(self.ids[series])} (file rows {file_rows.min()}-{file_rows.max()})"

    def subset(self, keep: np.ndarray) -> Panel:
        """The panel of the series where `keep` (S,) is true."""
        row_keep = np.repeat(keep, self.lengths)
        lengths = self.lengths[keep]
        return replace(
            self,
            frame=self.frame[row_keep].reset_index(drop=True),
            times=self.times[row_keep],
            ids=self.ids[keep],
            offsets=np.concatenate([[0], np.cumsum(lengths)]),
            file_rows=self.file_rows[row_keep],
        )

    def digest(self) -> str:
        """Short content hash of the ids, stamps and used columns."""
        frame = self.frame[self.input_columns].assign(_id=np.repeat(self.ids, self.lengths), _t=self.times)
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def series_ids(table: pd.DataFrame, column: str, source: str) -> pd.Series:
    """The series column as text ids; a missing column or an empty id is an error naming it."""
    if column not in table.columns:
        fix = separator_hint(table.columns) or " (set --series-column)"
        raise DataValidationError(
            f"{source}: series column {sample(column)} not found; available: {names(table.columns)}{fix}"
        )
    ids = table[column]
    if ids.isna().any():
        raise DataValidationError(
            f"{source}: series column {sample(column)} is empty in {rows(ids.isna())}; give every row its"
            " series id"
        )
    return ids.astype(str)


def load_panel(config: DataConfig, missing_column_fix: str | None = None) -> Panel:
    """Read, validate and order the long table that `config` describes (`config.series_column` set)."""
    source = config.path or builtin_path()
    table = read_table(source, config.csv)
    if table.empty:
        raise DataValidationError(f"{source}: the file has no data rows")
    ids = series_ids(table, config.series_column, source)
    table = table.assign(**{config.series_column: ids})
    times, timezone = time_index(table, config, source)
    times = times.as_unit("ns")  # the steps below are counted in nanoseconds
    inputs, targets = used_columns(table, config, source, missing_column_fix)
    check_numeric(table, inputs, config, source)
    codes, uniques = pd.factorize(ids, sort=True)
    frame = table[inputs].astype(np.float64)
    frame, kept = merge_duplicates(frame, [codes, times.asi8], config.duplicates, source)
    codes, times = codes[kept], times[kept]
    order = np.lexsort((times.asi8, codes))
    if (order != np.arange(len(order))).any():
        warnings.warn(
            f"{source}: rows were not grouped by series and sorted in time; sorted them by"
            f" {config.series_column!r} and {config.time_column!r}",
            stacklevel=2,
        )
    frame = frame.iloc[order].reset_index(drop=True)
    codes = codes[order]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(uniques)))])
    panel = Panel(
        frame=frame,
        times=times[order],
        ids=np.asarray(uniques, dtype=object),
        offsets=offsets,
        file_rows=kept[order] + 1,
        source=source,
        name=Path(source.split("?")[0]).name.split(".")[0] or "series",
        series_column=config.series_column,
        input_columns=inputs,
        target_columns=targets,
        freq="",
        timezone=timezone,
    )
    panel = _fill_missing(panel, config.missing)
    stamps = Stamps(panel.times, panel.offsets, timezone, source, panel.file_rows, panel.described)
    panel.freq = infer(stamps, config.max_gap)
    return panel


def _fill_missing(panel: Panel, policy: str) -> Panel:
    """Fill gaps within each series only (a series never borrows its neighbour's values)."""
    if policy == "error" or not panel.frame.isna().any().any():
        return panel
    groups = panel.frame.groupby(panel.row_series, sort=False)
    if policy == "ffill":
        filled = groups.ffill()
        filled = filled.fillna(filled.groupby(panel.row_series, sort=False).bfill())
    else:
        filled = groups.transform(lambda column: column.interpolate(limit_direction="both"))
    return replace(panel, frame=filled)
