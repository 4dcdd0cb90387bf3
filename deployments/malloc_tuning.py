"""glibc's allocator tuned for training, as the `bilstm` command and the dashboard's flow runs start it.

A Bi-LSTM step allocates and frees tens of MB of activations; with glibc's defaults each buffer goes through
mmap / munmap, and the page faults this costs dominate an epoch on a small machine. Raising glibc's mmap and
trim thresholds keeps that memory in the heap for reuse, for some more resident memory (the figures, from
bench/throughput.py: docs/benchmarks/speed.md). `mallopt` at run time cannot raise the mmap threshold far
enough, so the setting travels in `GLIBC_TUNABLES`, which glibc reads at process start: the CLI restarts
itself once with it. `BILSTM_MALLOC_TUNING=0` opts out; a threshold of your own in `GLIBC_TUNABLES` wins.
"""

from __future__ import annotations

import os
import platform
import sys

MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296"


def _wanted(env: dict[str, str]) -> bool:
    return (
        sys.platform.startswith("linux")
        and platform.libc_ver()[0] == "glibc"
        and env.get("BILSTM_MALLOC_TUNING", "1") != "0"
        and "glibc.malloc.mmap_threshold" not in env.get("GLIBC_TUNABLES", "")
    )


def with_tuned_malloc(env: dict[str, str]) -> dict[str, str]:
    """A copy of `env` whose processes start with the raised malloc thresholds (where glibc is used)."""
    if not _wanted(env):
        return dict(env)
    tunables = ":".join(filter(None, [env.get("GLIBC_TUNABLES"), MALLOC_TUNABLES]))
    return dict(env, GLIBC_TUNABLES=tunables)


def reexec_with_tuned_malloc() -> None:
    """Restart this very command with the tuned environment, once, before any work is done."""
    if _wanted(dict(os.environ)):
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], with_tuned_malloc(dict(os.environ)))
