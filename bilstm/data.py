"""Reading and validating a long table of one or more series: CSV or Parquet, local path or fsspec URI.

`load_table` returns a `SeriesTable`: one contiguous array per used column (features, then targets), the
rows of each series together and in time order, the row offsets of the series, and the one frequency they
share. A file without a series column is one series; with one (`data.series_column`), each id is a series.
Errors name the file, the column, the series and its file rows.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from bilstm import calendar_features
from bilstm.config import CsvConfig, DataConfig
from bilstm.csv_dialect import decimal_hint, read_csv, separator_hint
from bilstm.duplicates import merge_duplicates
from bilstm.errors import DataValidationError
from bilstm.frequency import Stamps, infer
from bilstm.messages import in_series, names, rows, sample
from bilstm.scaling import ONE_SERIES
from bilstm.stamps import time_index
from bilstm.statics import read_statics

BUILTIN_NAME = "ETTh1"


@dataclass
class SeriesTable:
    """Validated series of one long table: row r is of series s where offsets[s] <= r < offsets[s + 1]."""

    frame: pd.DataFrame  # input_columns (features first, targets last), series after series, in time order;
    # index: each row's stamp (a DatetimeIndex named after the time column; UTC where `timezone` is set)
    ids: np.ndarray  # (S,) series ids as text, sorted; ONE_SERIES for a file without a series column
    offsets: np.ndarray  # (S + 1,) int64
    file_rows: np.ndarray  # 1-based file row of each row, for error messages
    source: str
    name: str
    series_column: str | None  # None: a file of one series
    input_columns: list[str]
    target_columns: list[str]
    freq: str
    timezone: str | None = None  # where the data's stamps are shown ('+08:00', 'Europe/Berlin'); None: naive
    notes: list[str] = field(default_factory=list)  # what loading warned of, for the run's summary
    # input columns known in advance (data.future, then the calendar's columns), read over the horizon too
    known_columns: list[str] = field(default_factory=list)
    calendar: list[str] = field(default_factory=list)  # data.calendar: the features derived from the stamps
    # data.static: (S, D) each series' value of each static column (`bilstm.statics`), rows as `ids`
    statics: pd.DataFrame | None = None

    @property
    def values(self) -> np.ndarray:
        """(rows, len(input_columns)) float64 in original units."""
        return self.frame[self.input_columns].to_numpy(dtype=np.float64)

    @property
    def file_columns(self) -> list[str]:
        """The input columns read from the file: all but the calendar's, which are derived from the stamps."""
        derived = calendar_features.columns(self.calendar) if self.calendar else []
        return [c for c in self.input_columns if c not in derived]

    @property
    def shown_times(self) -> pd.DatetimeIndex:
        """The rows' stamps as the data's own are shown: in `timezone` where it is set (the index is UTC)."""
        index = self.frame.index
        return index if self.timezone is None else index.tz_convert(self.timezone)

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
        """'series 'H3' (file rows 701-1400)', for messages; '' for a file of one series."""
        if self.series_column is None:
            return ""
        file_rows = self.file_rows[self.rows_of(series)]
        return f"series {sample(self.ids[series])} (file rows {file_rows.min()}-{file_rows.max()})"

    def subset(self, keep: np.ndarray) -> SeriesTable:
        """The table of the series where `keep` (S,) is true."""
        row_keep = np.repeat(keep, self.lengths)
        lengths = self.lengths[keep]
        return replace(
            self,
            frame=self.frame[row_keep],
            ids=self.ids[keep],
            offsets=np.concatenate([[0], np.cumsum(lengths)]),
            file_rows=self.file_rows[row_keep],
            statics=None if self.statics is None else self.statics[keep],
        )

    def digest(self) -> str:
        """Short content hash of the used columns and the stamps (and the ids, where the file has them)."""
        frame = self.frame[self.input_columns]
        if self.series_column is not None:
            frame = frame.assign(_id=np.repeat(self.ids, self.lengths))
        hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
        return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def builtin_path() -> str:
    """Path of the bundled ETTh1 CSV (see bilstm/datasets/README.md for its source and license)."""
    return str(resources.files("bilstm.datasets").joinpath(f"{BUILTIN_NAME}.csv"))


def read_table(source: str, csv: CsvConfig | None = None) -> pd.DataFrame:
    """Read CSV (with the separator and decimal mark of `csv`, sniffed where unset) or Parquet by extension;
    errors name the file."""
    lower = source.lower()
    is_remote = "://" in source and not lower.startswith("file://")
    if is_remote:  # a signed or token URL ends in its query: the extension is the path's
        lower = lower.split("?")[0]
    if not is_remote and not Path(source.removeprefix("file://")).exists():
        raise DataValidationError(f"{source}: file not found; pass an existing CSV or Parquet file")
    try:
        if lower.endswith((".parquet", ".pq")):
            return pd.read_parquet(source)
        if lower.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt")):
            return read_csv(source, csv or CsvConfig())
    except (OSError, ValueError, ImportError) as error:
        raise DataValidationError(f"{source}: cannot be read ({error})") from error
    raise DataValidationError(f"{source}: unsupported format; use a .csv, .tsv, .csv.gz or .parquet file")


def _mostly_numeric(column: pd.Series) -> bool:
    """Numeric, or numeric but for a few bad cells (which validation then reports by row)."""
    if pd.api.types.is_numeric_dtype(column):
        return True
    return pd.to_numeric(column, errors="coerce").notna().mean() > 0.5


def used_columns(
    table: pd.DataFrame, config: DataConfig, source: str, fix: str | None
) -> tuple[list[str], list[str]]:
    for column in config.targets + (config.features or []) + config.future:
        if column not in table.columns:
            role = (
                "future" if column in config.future else "target" if column in config.targets else "features"
            )
            hint = (
                fix
                or {
                    "target": "choose the target with --target",
                    "future": "the training file holds a future column's past values too: add it, or"
                    " drop it from --future",
                    "features": "choose them with --features",
                }[role]
            )
            raise DataValidationError(
                f"{source}: column {sample(column)} not found; available: {names(table.columns)}; {hint}"
            )
    known = list(config.future)
    if config.setting == "S":
        return known + list(config.targets), list(config.targets)
    if config.features is None:
        ignored = (config.time_column, config.series_column, *known, *config.static)
        others = [c for c in table.columns if c not in ignored and c not in config.targets]
        features = [c for c in others if _mostly_numeric(table[c])]
        skipped = [str(c) for c in others if c not in features]
        if skipped:
            warnings.warn(
                f"{source}: non-numeric column(s) {names(skipped)} left out of the features", stacklevel=3
            )
    else:
        features = [c for c in config.features if c not in config.targets]
    targets = features + list(config.targets) if config.setting == "M" else list(config.targets)
    past = [] if config.setting == "M" else features
    # the columns known in advance stand between the past-only features and the targets, which come last
    return past + known + targets, targets


def check_numeric(table: pd.DataFrame, columns: list[str], config: DataConfig, source: str) -> None:
    ids = table[config.series_column] if config.series_column is not None else None
    missing = []
    for column in columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            bad = pd.to_numeric(table[column], errors="coerce").isna() & table[column].notna()
            first = table[column][bad].iloc[0]
            fix = decimal_hint(first) or "fix those cells or leave the column out of --features"
            raise DataValidationError(
                f"{source}: column {sample(column)} is not numeric ({rows(bad)}{in_series(ids, bad)}, e.g."
                f" {sample(first)}); {fix}"
            )
        values = table[column].to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            raise DataValidationError(
                f"{source}: column {sample(column)} has inf in {rows(np.isinf(values))}"
                + in_series(ids, np.isinf(values))
            )
        if np.isnan(values).any():
            missing.append((column, np.isnan(values)))
    if missing and config.missing == "error":
        # every column with gaps in one message, so that one fix covers them all
        shown = 3 if len(missing) > 1 else 5
        parts = [
            f"column {sample(c)} has missing values in {rows(mask, shown)}{in_series(ids, mask)}"
            for c, mask in missing[:3]
        ]
        parts[1:] = [part.replace(" has missing values", "") for part in parts[1:]]
        more = f" (and {len(missing) - 3} more columns)" if len(missing) > 3 else ""
        raise DataValidationError(
            f"{source}: {', '.join(parts)}{more}; fill them or set data.missing to ffill or interpolate"
        )


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


def load_table(config: DataConfig, missing_column_fix: str | None = None) -> SeriesTable:
    """Read, validate and order the data set that `config` describes: one series, or, with
    `config.series_column`, a long table of many.

    Args:
        config: the file and its columns.
        missing_column_fix: how to fix a missing column (default: choose it with --target / --features).
    """
    source = config.path or builtin_path()
    table = read_table(source, config.csv)
    if table.empty:
        raise DataValidationError(f"{source}: the file has no data rows")
    many = config.series_column is not None
    if many:
        table = table.assign(**{config.series_column: series_ids(table, config.series_column, source)})
    times, timezone = time_index(table, config, source)
    times = times.as_unit("ns")  # the steps are counted in nanoseconds
    inputs, targets = used_columns(table, config, source, missing_column_fix)
    check_numeric(table, inputs, config, source)
    codes, uniques = pd.factorize(table[config.series_column], sort=True) if many else (None, ONE_SERIES)
    statics = None
    if config.static:  # with a series column, which data.static needs (`DataConfig`)
        statics = read_statics(table, config.static, codes, np.asarray(uniques), source)
    frame = table[inputs].astype(np.float64)
    keys = [codes, times.asi8] if many else [times.asi8]
    frame, kept = merge_duplicates(frame, keys, config.duplicates, source)
    codes = codes[kept] if many else np.zeros(len(kept), dtype=np.int64)
    times = times[kept]
    order = np.lexsort((times.asi8, codes))
    if not _grouped_and_sorted(codes, times.asi8):  # series in any order of ids is the file's own choice
        sorted_by = (
            f"{config.series_column!r} and {config.time_column!r}" if many else repr(config.time_column)
        )
        what = "rows were not grouped by series and sorted in time" if many else "timestamps were not sorted"
        warnings.warn(f"{source}: {what}; sorted them by {sorted_by}", stacklevel=2)
    codes = codes[order]
    series = SeriesTable(
        frame=frame.iloc[order].set_axis(times[order].rename(config.time_column)),
        ids=np.asarray(uniques, dtype=object),
        offsets=np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(uniques)))]),
        file_rows=kept[order] + 1,
        source=source,
        name=Path(source.split("?")[0]).name.split(".")[0] or "series",
        series_column=config.series_column,
        input_columns=inputs,
        target_columns=targets,
        freq="",
        timezone=timezone,
        known_columns=list(config.future),
        statics=statics,
    )
    series = with_calendar(_fill_missing(series, config.missing), config.calendar)
    stamps = Stamps(series.frame.index, series.offsets, timezone, source, series.file_rows, series.described)
    series.freq = infer(stamps, config.max_gap)
    calendar_features.check_frequency(config.calendar, series.freq)
    return series


def with_calendar(series: SeriesTable, calendar: list[str]) -> SeriesTable:
    """The table with the calendar's columns (`bilstm.calendar_features`, of the stamps as shown: in the
    data's own zone) inserted before the targets, as known-in-advance inputs."""
    if not calendar:
        return series
    derived = calendar_features.columns(calendar)
    values = calendar_features.values(series.shown_times, calendar)
    frame = series.frame.copy()
    for j, column in enumerate(derived):
        frame[column] = values[:, j]
    targets = series.target_columns
    past = [c for c in series.input_columns if c not in targets]
    inputs = past + derived + [c for c in series.input_columns if c in targets]
    return replace(
        series,
        frame=frame,
        input_columns=inputs,
        known_columns=series.known_columns + derived,
        calendar=list(calendar),
    )


def _fill_missing(series: SeriesTable, policy: str) -> SeriesTable:
    """Fill gaps within each series only (a series never borrows its neighbour's values)."""
    if policy == "error" or not series.frame.isna().any().any():
        return series
    groups = series.frame.groupby(series.row_series, sort=False)
    if policy == "ffill":
        filled = groups.ffill()
        filled = filled.fillna(filled.groupby(series.row_series, sort=False).bfill())
    else:
        filled = groups.transform(lambda column: column.interpolate(method="time", limit_direction="both"))
    return replace(series, frame=filled)


def _grouped_and_sorted(codes: np.ndarray, stamps: np.ndarray) -> bool:
    """Whether the rows of each series stand together and in time order (whatever the order of the series)."""
    same = codes[1:] == codes[:-1]
    runs = len(codes) - int(same.sum())
    return runs == len(np.unique(codes)) and bool((stamps[1:] > stamps[:-1])[same].all())
