"""Writing a forecast's files: the table (CSV or Parquet by the file's extension) and its plot (PNG, SVG or
PDF), atomically (a temp file, then a rename) and with the mode a plain `open()` gives (0o666 less the umask).
`check_table_path` / `check_figure_path` refuse a bad path before any work is done.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bilstm.errors import OutputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

TABLE_FORMATS = (".csv", ".parquet", ".pq")
FIGURE_FORMATS = (".png", ".svg", ".pdf")


def _checked(path: str | Path, formats: tuple[str, ...], kind: str, names: str) -> Path:
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; name a file in it, e.g. {path / (kind + formats[0])}")
    if path.suffix.lower() not in formats:
        raise OutputError(f"{path}: unsupported {kind} format; use a {names} file name")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist; create it or choose another {kind}")
    if not _writable(path.parent):
        raise OutputError(f"{path}: folder {path.parent} is not writable; choose another {kind}")
    return path


def _writable(folder: Path) -> bool:
    """Whether files can be created in `folder`: its permissions allow it (`os.access`, which says yes to
    root everywhere) and its file system is not mounted read-only (which stops root too)."""
    return os.access(folder, os.W_OK | os.X_OK) and not os.statvfs(folder).f_flag & os.ST_RDONLY


def check_table_path(path: str | Path) -> Path:
    """`path` if a forecast table can be written there, else OutputError saying why."""
    return _checked(path, TABLE_FORMATS, "output", ".csv or .parquet")


def check_figure_path(path: str | Path) -> Path:
    """`path` if a plot can be written there, else OutputError saying why."""
    return _checked(path, FIGURE_FORMATS, "plot", ".png, .svg or .pdf")


def _new_partial(path: Path) -> Path:
    """A new empty file beside `path`, created as `open()` creates one: mode 0o666 less the umask
    (`tempfile.mkstemp` gives 0o600, which other users and services cannot read)."""
    while True:
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return partial
        except FileExistsError:
            continue
        except OSError as error:
            raise OutputError(f"{path}: cannot write in {path.parent} ({error.strerror})") from error


def _write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """`write` the partial file, then rename it to `path`; a failure leaves no partial file behind."""
    partial = _new_partial(path)
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` to `path` (CSV or Parquet by its extension)."""
    path = check_table_path(path)
    if path.suffix.lower() == ".csv":
        return _write_atomically(path, lambda partial: frame.to_csv(partial, index=False))
    return _write_atomically(path, lambda partial: frame.to_parquet(partial, index=False))


def write_figure(figure: Figure, path: str | Path) -> Path:
    """Save `figure` to `path` (PNG, SVG or PDF by its extension)."""
    path = check_figure_path(path)
    return _write_atomically(path, lambda partial: figure.savefig(partial, format=path.suffix[1:].lower()))
