"""The Dask scheduler that a backtest's folds or a sweep's trials run on (`--dask-address`): checked to
answer before anything starts, and a scheduler lost mid-run told apart from a fold's own failure.

Light (distributed is imported only to probe an address), so the CLI checks it in about a second.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from bilstm.folds import BacktestError


def unreachable_scheduler(address: str, reason: str) -> BacktestError:
    """The error for a Dask scheduler that does not answer at `address`."""
    return BacktestError(
        f"--dask-address {address}: no Dask scheduler answered ({' '.join(reason.split())}); start one"
        " with `dask scheduler` (and workers with `dask worker ADDRESS`), or leave --dask-address out to"
        " run a local cluster"
    )


class SchedulerLostError(RuntimeError):
    """The Dask scheduler went away while the folds ran on it (killed, its machine down). Not the input's
    fault: the CLI exits with `exit_code`, as for an unreachable tracking server."""

    exit_code = 3


LOST_CONNECTION = "scheduler-connection-lost"  # distributed's reason for cancelling a lost client's futures


def lost_scheduler(address: str, error: BaseException) -> SchedulerLostError | None:
    """A fold's `error` as `SchedulerLostError` naming `address`, if it says the client lost the scheduler."""
    if getattr(error, "reason", None) != LOST_CONNECTION and LOST_CONNECTION not in str(error):
        return None
    return SchedulerLostError(
        f"the Dask scheduler at {address} went away during the backtest: the client lost its connection"
        f" ({LOST_CONNECTION}); start the scheduler and its workers again and re-run, or leave"
        " --dask-address out to run a local cluster"
    )


def check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Raise `BacktestError` unless a Dask scheduler answers at the tcp:// or tls:// address within `timeout`
    seconds: a refused connection fails at once, and anything else listening there (a web server, a silent
    port) fails once the handshake is overdue, where Dask's client would wait for ever."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
        raise BacktestError(
            f"--dask-address {address}: expected tcp://HOST:PORT or tls://HOST:PORT, e.g. tcp://10.0.0.5:8786"
        )
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as error:
        raise unreachable_scheduler(address, str(error)) from None
    try:
        # a thread of its own: a flow that calls this may run an event loop in its own thread
        with ThreadPoolExecutor(1) as thread:
            probe = asyncio.wait_for(_identity(parts.geturl(), timeout), timeout)
            identity = thread.submit(asyncio.run, probe).result()
    except (OSError, asyncio.TimeoutError) as error:  # distributed's CommClosedError is an OSError
        reason = str(error) or f"no Dask handshake within {timeout:g} s"
        raise unreachable_scheduler(address, reason) from None
    if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
        raise unreachable_scheduler(address, f"what answered is not a Dask scheduler: {str(identity)[:80]}")


async def _identity(address: str, timeout: float) -> object:
    """What the Dask server at `address` says it is, over the comm and security settings (TLS) that Dask's
    client would use; distributed is imported here, as only --dask-address needs it."""
    from distributed.comm import connect
    from distributed.security import Security

    comm = await connect(address, timeout=timeout, **Security().get_connection_args("client"))
    try:
        await comm.write({"op": "identity"})
        return await comm.read()
    finally:
        comm.abort()
