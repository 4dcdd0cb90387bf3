"""A data file read once per command: the command line's checks read and validate the data (`keep`), and the
flow it then runs in the same process takes that read (`take`) instead of reading the file again, if the
file (path, size, modification time) and the data config are the same. One read is kept at a time, until the
next `take`. A remote file (an fsspec URI) is read each time: telling it unchanged would cost a request.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bilstm.config import DataConfig
from bilstm.data import builtin_path

T = TypeVar("T")


@dataclass(frozen=True)
class _Read:
    key: tuple
    data: Any
    warned: list[warnings.WarningMessage]  # what reading warned of, warned again where it is taken


_kept: _Read | None = None
_lock = threading.Lock()


def keep(load: Callable[[DataConfig], T], config: DataConfig) -> T:
    """`load(config)`, kept for the next `take` of the same file and config; warns what loading warns."""
    global _kept
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        data = load(config)
    key = _identity(load, config)
    with _lock:
        _kept = None if key is None else _Read(key, data, warned)
    _warn_again(warned)
    return data


def take(load: Callable[[DataConfig], T], config: DataConfig) -> T:
    """The kept read where it is of `load` and `config` and the file is unchanged, warning what loading it
    warned; else `load(config)`. Either way nothing stays kept."""
    global _kept
    with _lock:
        kept, _kept = _kept, None
    if kept is None or kept.key != _identity(load, config):
        return load(config)
    _warn_again(kept.warned)
    return kept.data


def _identity(load: Callable, config: DataConfig) -> tuple | None:
    source = config.path or builtin_path()
    if "://" in source:
        return None
    try:
        stat = os.stat(source)
    except OSError:  # not there: the loader says so
        return None
    return (load, os.path.abspath(source), stat.st_size, stat.st_mtime_ns, stat.st_ino, config)


def _warn_again(warned: list[warnings.WarningMessage]) -> None:
    for caught in warned:
        warnings.warn_explicit(caught.message, caught.category, caught.filename, caught.lineno)
