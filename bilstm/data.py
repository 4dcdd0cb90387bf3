"""Reading and validating a time series: CSV or Parquet, local path or fsspec URI.

`load_series` returns a `Series` — the time index, the used columns in a fixed order (features, then
targets) and the inferred frequency — or raises `DataValidationError` naming the file, column and rows.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from bilstm.config import CsvConfig, DataConfig
from bilstm.csv_dialect import decimal_hint, read_csv
from bilstm.duplicates import merge_duplicates
from bilstm.errors import DataValidationError
from bilstm.frequency import Stamps, infer
from bilstm.messages import names, rows, sample
from bilstm.stamps import time_index

BUILTIN_NAME = "ETTh1"


@dataclass
class Series:
    """A validated time series: `frame` holds `input_columns` (features first, targets last)."""

    frame: pd.DataFrame  # index: DatetimeIndex named after the time column; UTC when `timezone` is set
    source: str
    name: str
    input_columns: list[str]
    target_columns: list[str]
    freq: str
    timezone: str | None = None  # where the data's stamps are shown ('+08:00', 'Europe/Berlin'); None: naive
    notes: list[str] = field(default_factory=list)  # what loading warned of, for the run's summary

    @property
    def values(self) -> np.ndarray:
        """(rows, len(input_columns)) float64 in original units."""
        return self.frame[self.input_columns].to_numpy(dtype=np.float64)

    @property
    def shown_times(self) -> pd.DatetimeIndex:
        """The rows' stamps as the data's own are shown: in `timezone` where it is set (the index is UTC)."""
        index = self.frame.index
        return index if self.timezone is None else index.tz_convert(self.timezone)

    def digest(self) -> str:
        """Short content hash of the used columns and timestamps."""
        hashed = pd.util.hash_pandas_object(self.frame[self.input_columns], index=True).to_numpy()
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
    for column in config.targets + (config.features or []):
        if column not in table.columns:
            target = column in config.targets
            hint = fix or ("choose the target with --target" if target else "choose them with --features")
            raise DataValidationError(
                f"{source}: column {sample(column)} not found; available: {names(table.columns)}; {hint}"
            )
    if config.setting == "S":
        return list(config.targets), list(config.targets)
    if config.features is None:
        ignored = (config.time_column, config.series_column)
        others = [c for c in table.columns if c not in ignored and c not in config.targets]
        features = [c for c in others if _mostly_numeric(table[c])]
        skipped = [str(c) for c in others if c not in features]
        if skipped:
            warnings.warn(
                f"{source}: non-numeric column(s) {names(skipped)} left out of the features", stacklevel=3
            )
    else:
        features = [c for c in config.features if c not in config.targets]
    inputs = features + list(config.targets)
    return inputs, (inputs if config.setting == "M" else list(config.targets))


def check_numeric(table: pd.DataFrame, columns: list[str], config: DataConfig, source: str) -> None:
    missing = []
    for column in columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            bad = pd.to_numeric(table[column], errors="coerce").isna() & table[column].notna()
            first = table[column][bad].iloc[0]
            fix = decimal_hint(first) or "fix those cells or leave the column out of --features"
            raise DataValidationError(
                f"{source}: column {sample(column)} is not numeric ({rows(bad)}, e.g. {sample(first)}); {fix}"
            )
        values = table[column].to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            raise DataValidationError(
                f"{source}: column {sample(column)} has inf in {rows(np.isinf(values))}"
            )
        if np.isnan(values).any():
            missing.append((column, np.isnan(values)))
    if missing and config.missing == "error":
        # every column with gaps in one message, so that one fix covers them all
        shown = 3 if len(missing) > 1 else 5
        parts = [f"column {sample(c)} has missing values in {rows(mask, shown)}" for c, mask in missing[:3]]
        parts[1:] = [part.replace(" has missing values", "") for part in parts[1:]]
        more = f" (and {len(missing) - 3} more columns)" if len(missing) > 3 else ""
        raise DataValidationError(
            f"{source}: {', '.join(parts)}{more}; fill them or set data.missing to ffill or interpolate"
        )


def check_targets_vary(series: Series, train_rows: slice) -> None:
    """A target that is constant over the train rows leaves nothing to learn (and a zero scale): refuse it."""
    train = series.frame.iloc[train_rows]
    for column in series.target_columns:
        values = train[column].to_numpy()
        if len(values) and np.ptp(values) == 0:
            raise DataValidationError(
                f"{series.source}: target column {column!r} is constant ({values[0]:g}) in the train rows"
                f" 1-{len(values)}; there is nothing to learn: choose another target or use data in which it"
                " varies"
            )


def load_series(config: DataConfig, missing_column_fix: str | None = None) -> Series:
    """Read, validate and tidy the data set that `config` describes.

    Args:
        config: the file and its columns.
        missing_column_fix: how to fix a missing column (default: choose it with --target / --features).
    """
    source = config.path or builtin_path()
    if config.series_column is not None:
        raise DataValidationError(
            f"{source}: many series (data.series_column {config.series_column!r}) are trained with"
            " `bilstm train` and forecast with `bilstm forecast`; this command takes one series so far:"
            " filter one series into its own file"
        )
    table = read_table(source, config.csv)
    if table.empty:
        raise DataValidationError(f"{source}: the file has no data rows")
    index, timezone = time_index(table, config, source)
    inputs, targets = used_columns(table, config, source, missing_column_fix)
    check_numeric(table, inputs, config, source)
    frame = table[inputs].astype(np.float64).set_axis(index)
    frame, kept = merge_duplicates(frame, [index.asi8], config.duplicates, source)
    index, file_rows = frame.index, kept + 1
    if not index.is_monotonic_increasing:
        warnings.warn(
            f"{source}: timestamps were not sorted; sorted them by {config.time_column!r}", stacklevel=2
        )
        order = np.argsort(index.to_numpy(), kind="stable")
        frame, file_rows = frame.iloc[order], file_rows[order]
    if config.missing == "ffill":
        frame = frame.ffill().bfill()
    elif config.missing == "interpolate":
        frame = frame.interpolate(method="time", limit_direction="both")
    name = Path(source.split("?")[0]).name.split(".")[0] or "series"
    stamps = Stamps(frame.index, np.array([0, len(frame)]), timezone, source, file_rows, lambda _: "")
    freq = infer(stamps, config.max_gap)
    return Series(frame, source, name, inputs, targets, freq, timezone)
