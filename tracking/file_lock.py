"""An exclusive advisory lock on a file (`fcntl.flock`): one-time set-up that processes must not do together,
such as creating and migrating a database, is done under it by one process at a time. The kernel drops the
lock of a process that dies; the lock file stays (removing it would let two processes lock two inodes).
POSIX only, on a local file system.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class FileLock:
    """`with FileLock(path):` waits for the lock; `acquire(blocking=False)` tries once."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock (waiting for it if `blocking`); True if this process holds it now."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor of this open file drops the flock
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
