"""Who may write a job's training checkpoint: an advisory lock per checkpoint file, held while a run uses it.

A re-run of a killed job finds the lock free (the kernel drops a dead process's `flock`) and resumes the
job's checkpoint; a concurrent run of the same job finds it held and trains on a private checkpoint, so the
two never overwrite each other's state. POSIX only (`fcntl.flock`), on a local file system.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Claim:
    """The checkpoint file a run may use, and the lock that reserves it (released by `release`)."""

    path: Path
    shared: bool  # True: the job's own checkpoint, which a re-run resumes; False: private to this process
    previous_note: str = ""  # what a dead earlier owner wrote into the lock (empty if none)
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


def claim(checkpoint: str | os.PathLike, note: str) -> Claim:
    """Reserve `checkpoint` for this process, or a private `<stem>-<pid>` file if a live process holds it.

    Args:
        checkpoint: the job's checkpoint file (its directory is created).
        note: a line to leave in the lock (e.g. the tracking run id), read back by whoever resumes.
    Returns:
        The claim; `previous_note` holds the note of an owner that died without releasing.
    """
    checkpoint = Path(checkpoint)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    lock = lock_path(checkpoint)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            private = checkpoint.with_name(f"{checkpoint.stem}-{os.getpid()}{checkpoint.suffix}")
            return Claim(private, shared=False)
        # the owner we waited on may have released and removed the file: then lock the new one
        if not lock.exists() or os.stat(lock).st_ino != os.fstat(fd).st_ino:
            os.close(fd)
            continue
        previous = os.read(fd, 4096).decode(errors="replace").strip()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{note}\n".encode(), 0)
        return Claim(checkpoint, shared=True, previous_note=previous, _lock=lock, _fd=fd)
