"""Writing a forecast table: CSV or Parquet by the file's extension, atomically (temp file, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from bilstm.errors import OutputError

FORMATS = (".csv", ".parquet", ".pq")


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` to `path`; a failure leaves no partial file behind."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise OutputError(f"{path}: unsupported output format; use a .csv or .parquet file name")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist; create it or choose another output")
    try:
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as error:
        raise OutputError(f"{path}: cannot write in {path.parent} ({error.strerror})") from error
    os.close(handle)
    try:
        if suffix == ".csv":
            frame.to_csv(partial, index=False)
        else:
            frame.to_parquet(partial, index=False)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)
    return path
