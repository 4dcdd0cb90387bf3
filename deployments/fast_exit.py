"""The `bilstm` command's exit without tearing the interpreter's modules down, which takes seconds with torch,
Prefect and MLflow loaded and does nothing the command needs (docs/benchmarks/speed.md has the figures).

It runs the steps of a normal exit before that teardown through two private CPython functions,
`threading._shutdown` and `atexit._run_exitfuncs`; `tests/test_fast_exit.py` fails if either goes away or
stops doing what this module relies on. Everything else exits normally.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def exit_without_teardown(code: int) -> None:
    """End the process as Python would, minus tearing down its modules.

    The steps of a normal exit before that teardown, in its order: the threading shutdown (thread pools
    are told to stop, non-daemon threads are waited for), the atexit handlers (Prefect sends its last logs
    and events there, the temporary server stops), and flushing the standard streams.
    """
    threading._shutdown()  # noqa: SLF001 - what the interpreter runs first at exit
    atexit._run_exitfuncs()  # noqa: SLF001 - the handlers that os._exit would skip
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)
