"""Whether a failure was a full disk, wherever it came from (an OSError with ENOSPC, torch's checkpoint
writer, SQLite's "database or disk is full", a server's answer 500 while a disk it writes to is nearly
full), and the one line that says so: the full folder among those a run writes to, and the setting that
moves it."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bilstm.errors import error_chain

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# torch's zip writer on a full disk ("... unexpected pos 1 vs 0", "... file write failed") and SQLite's words
_FULL_WORDS = ("No space left on device", "database or disk is full", "unexpected pos", "file write failed")
# a server's error 500 (Prefect's API on its SQLite file) counts as a full disk only with less free than this
LOW_SPACE = 16 * 2**20


class DiskFullError(OSError):
    """A disk the run writes to is full; the message names the folder and the setting that moves it. Not
    the input's fault, so no `BadInputError`: the CLI exits with `exit_code`, as for an unreachable store."""

    exit_code = 3


@dataclass(frozen=True)
class Place:
    """A folder the run writes to and the setting that points it elsewhere."""

    setting: str
    folder: Path


def places(tracking_uri: str) -> list[Place]:
    """The folders a `bilstm` command writes to: the checkpoints, the MLflow store (a SQLite file's folder,
    its artifacts beside it), Prefect's home and the temporary folder."""
    found = [Place("BILSTM_HOME", Path(os.environ.get("BILSTM_HOME", ".bilstm")).absolute())]
    parts = urlsplit(tracking_uri)
    if parts.scheme == "sqlite":  # sqlite:///relative.db, sqlite:////absolute.db
        found.append(Place("MLFLOW_TRACKING_URI", Path(unquote(parts.path)[1:]).absolute().parent))
    elif parts.scheme in ("", "file"):
        found.append(Place("MLFLOW_TRACKING_URI", Path(unquote(parts.path)).absolute()))
    prefect_home = os.environ.get("PREFECT_HOME") or Path.home() / ".prefect"
    found.append(Place("PREFECT_HOME", Path(prefect_home).expanduser().absolute()))
    found.append(Place("TMPDIR", Path(tempfile.gettempdir())))
    return found


def full_disk(error: BaseException, where: list[Place], server_failed: bool = False) -> DiskFullError | None:
    """`error` as a `DiskFullError` naming the full folder of `where` if a full disk caused it, else None.

    A file name in the error picks its place; otherwise the place with the least free space (an error 500,
    or a server that failed to start (`server_failed`), only if that is under `LOW_SPACE`), the likeliest
    writer first among places on one disk.
    """
    chain = list(error_chain(error))
    direct = is_full_disk(error)
    if not direct and not server_failed and not any(_is_server_error(link) for link in chain):
        return None
    named = next((Path(link.filename) for link in chain if _says_full(link) and _filename(link)), None)
    free = _free_bytes(where)
    if named is not None:
        # the innermost place holding it: .bilstm/ lies in the store's folder by default
        holding = [p for p in where if named.absolute().is_relative_to(p.folder)]
        place = max(holding, key=lambda p: len(p.folder.parts), default=None)
    else:
        likely = _likely_setting(chain)
        ranked = sorted(free, key=lambda p: (free[p], p.setting != likely))
        place = ranked[0] if ranked else None
        if not direct and (place is None or free[place] >= LOW_SPACE):
            return None
    folder = place.folder if place else (named.parent if named else None)
    shown = f"no space left on {folder}" if folder else "no space left on a disk the run writes to"
    move = f" or point {place.setting} elsewhere" if place else ""
    return DiskFullError(f"{shown}: free space there{move}")


def is_full_disk(error: BaseException) -> bool:
    """Whether `error`, or one it was raised from, says a disk is full (no guess from free space: a retry
    of the write that failed is pointless)."""
    return any(_says_full(link) for link in error_chain(error))


def _says_full(link: BaseException) -> bool:
    if isinstance(link, OSError) and link.errno in _FULL_ERRNOS:
        return True
    return any(words in str(link) for words in _FULL_WORDS)


def _filename(link: BaseException) -> str | None:
    return getattr(link, "filename", None) if isinstance(link, OSError) else None


def _is_server_error(link: BaseException) -> bool:
    """An HTTP answer 500 (httpx's and Prefect's errors carry the response)."""
    return getattr(getattr(link, "response", None), "status_code", None) == 500


def _likely_setting(chain: list[BaseException]) -> str:
    """Which place the error's kind points at when several share a disk: torch writes the checkpoints, SQLite
    in this process is MLflow's store, an error 500 comes from Prefect's API."""
    text = " ".join(str(link) for link in chain)
    if "unexpected pos" in text or "file write failed" in text:
        return "BILSTM_HOME"
    if "database or disk is full" in text:
        return "MLFLOW_TRACKING_URI"
    return "PREFECT_HOME"


def _free_bytes(where: list[Place]) -> dict[Place, int]:
    """Free bytes on the disk of each place's folder, or of its nearest existing parent (not created yet);
    read once per disk, so places on one disk tie and the likeliest writer is named, whatever other
    processes write in between."""
    by_disk: dict[int, int] = {}
    free = {}
    for place in where:
        existing = next((c for c in (place.folder, *place.folder.parents) if c.exists()), None)
        if existing is None:
            free[place] = 0
            continue
        disk = existing.stat().st_dev
        if disk not in by_disk:
            by_disk[disk] = shutil.disk_usage(existing).free
        free[place] = by_disk[disk]
    return free
