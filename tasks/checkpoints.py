"""Who may write a job's training checkpoint: an advisory lock per checkpoint file, held while a run uses it.

A re-run of a killed job finds the lock free (the kernel drops a dead process's `flock`) and resumes the
job's checkpoint; a concurrent run of the same job finds it held and trains on a private checkpoint, so the
two never overwrite each other's state. The lock file holds its owner as JSON (e.g. pid and tracking run
id), so whoever resumes knows whose work it continues. POSIX only (`fcntl.flock`), on a local file system.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Claim:
    """The checkpoint file a run may use, and the lock that reserves it (released by `release`)."""

    path: Path
    shared: bool  # True: the job's own checkpoint, which a re-run resumes; False: private to this process
    previous_owner: dict | None = None  # the owner a dead earlier claim wrote into the lock, if any
    _lock: Path | None = field(default=None, repr=False)
    _fd: int | None = field(default=None, repr=False)

    def release(self, remove: bool = True) -> None:
        """Drop the lock; `remove` also deletes the checkpoint and the lock file (the job is done)."""
        if remove:
            self.path.unlink(missing_ok=True)
            if self._lock is not None:
                self._lock.unlink(missing_ok=True)  # still locked by us: nobody else holds this inode
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def lock_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + ".lock")


def claim(checkpoint: str | os.PathLike, owner: dict) -> Claim:
    """Reserve `checkpoint` for this process, or a private `<stem>-<pid>` file if another live process
    holds it. A claim this process already holds (one not released, e.g. by a failed flow run) is shared:
    the job's checkpoint stays this process's to resume.

    Args:
        checkpoint: the job's checkpoint file (its directory is created).
        owner: who claims it (JSON-serialisable, e.g. the tracking run id), read back by whoever resumes;
            its `pid` is set to this process's.
    Returns:
        The claim; `previous_owner` holds the owner of a claim whose process died without releasing.
    """
    checkpoint = Path(checkpoint)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    lock, owner = lock_path(checkpoint), {**owner, "pid": os.getpid()}
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _owner(os.pread(fd, 4096, 0))
            os.close(fd)
            if holder is not None and holder.get("pid") == os.getpid():
                # flock is per open file, so our own earlier claim blocks a new one: share it instead
                return Claim(checkpoint, shared=True, _lock=lock)
            private = checkpoint.with_name(f"{checkpoint.stem}-{os.getpid()}{checkpoint.suffix}")
            return Claim(private, shared=False)
        # the owner we waited on may have released and removed the file: then lock the new one
        if not lock.exists() or os.stat(lock).st_ino != os.fstat(fd).st_ino:
            os.close(fd)
            continue
        previous = _owner(os.read(fd, 4096))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{json.dumps(owner)}\n".encode(), 0)
        return Claim(checkpoint, shared=True, previous_owner=previous, _lock=lock, _fd=fd)


def _owner(note: bytes) -> dict | None:
    """The owner written into a lock file: JSON, or `pid=1 run_id=abc` as versions before JSON wrote it."""
    text = note.decode(errors="replace").strip()
    if not text:
        return None
    try:
        owner = json.loads(text)
    except json.JSONDecodeError:
        pairs = dict(item.partition("=")[::2] for item in text.split())
        return {**pairs, "pid": int(pairs["pid"])} if pairs.get("pid", "").isdigit() else pairs
    return owner if isinstance(owner, dict) else None
