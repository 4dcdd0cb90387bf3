"""Where a backtest's folds run, as a Prefect task runner: in the flow's process one after another (one
worker, no Dask at all), on a local Dask cluster of single-threaded worker processes (prefect-dask's
`DaskTaskRunner` over `distributed.LocalCluster`), or on a running Dask scheduler (`dask_address`).

A local cluster starts in a background thread as soon as the flow starts, its workers importing the fold
task (torch, Prefect and the core) while the flow reads the data and plans the folds; it closes in the
background too, while the flow records the folds. Both would otherwise sit on the flow's critical path.
"""

from __future__ import annotations

import logging
import threading

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.futures import PrefectFuture
from prefect.states import Crashed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from bilstm.folds import BacktestOptions
from tasks.dask_scheduler import check_scheduler

SCHEDULER_TIMEOUT = "10s"  # for an existing Dask scheduler to answer
# what a local worker imports as it starts: the fold task (torch, Prefect, the core) and what torch imports
# only at the first optimiser step
WORKER_PRELOAD = ("tasks.fold", "torch._dynamo")


class FoldWorkers:
    """The folds' workers for `options`, as a context manager around the flow's work: a local cluster
    starts on entering and is closed, at the latest, on leaving; Dask's own log lines are kept to errors
    meanwhile (a local cluster's start-up and shutdown lines, and the traceback of a worker closing, would
    bury the folds' own; a fold's failure is reported by its task)."""

    def __init__(self, options: BacktestOptions, preload: tuple[str, ...] = WORKER_PRELOAD):
        self.options = options
        self.preload = list(preload)
        self._cluster = None
        self._error: BaseException | None = None
        self._starting: threading.Thread | None = None
        self._closing: threading.Thread | None = None
        self._log_levels: dict[str, int] = {}  # distributed's loggers' levels before, to restore

    def __enter__(self) -> FoldWorkers:
        if self.options.parallel:
            import distributed  # before quieting: importing it sets its loggers' levels

            # a client of a scheduler elsewhere logs only its own side's errors (tracebacks of a lost
            # scheduler's reconnect attempts), which reach the flow as the folds' errors anyway;
            # distributed gives its client's logger a level of its own
            level = logging.CRITICAL if self.options.dask_address else logging.ERROR
            for name in ("distributed", "distributed.client"):
                logger = logging.getLogger(name)
                self._log_levels[name] = logger.level
                logger.setLevel(max(level, logger.level))
            if self.options.dask_address is None:
                self._starting = threading.Thread(target=self._start, args=(distributed,), daemon=True)
                self._starting.start()
        return self

    def _start(self, distributed) -> None:
        import dask

        try:
            # the workers keep this process's allocator settings (the command's, in GLIBC_TUNABLES): Dask's
            # default MALLOC_TRIM_THRESHOLD_ of 64 KiB hands each step's freed activations back to the OS
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                self._cluster = distributed.LocalCluster(
                    n_workers=self.options.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    preload=self.preload,
                )
        except BaseException as error:  # noqa: BLE001 - raised in the flow's thread by `runner`
            self._error = error

    @property
    def slots(self) -> int | None:
        """How many folds run at once: the worker count, or None on a scheduler whose workers are its own."""
        return None if self.options.dask_address else self.options.workers

    def runner(self) -> TaskRunner:
        """A task runner for the folds, not yet entered: the local cluster's (waiting for it to be up), the
        scheduler's at `dask_address` (checked to answer Dask's handshake first, within seconds), or a
        single thread here."""
        if not self.options.parallel:
            return ThreadPoolTaskRunner(max_workers=1)
        from prefect_dask import DaskTaskRunner

        if self.options.dask_address:
            check_scheduler(self.options.dask_address)
            timeout = {"timeout": SCHEDULER_TIMEOUT}
            return DaskTaskRunner(address=self.options.dask_address, client_kwargs=timeout)
        self._starting.join()
        if self._error is not None:
            raise self._error
        return DaskTaskRunner(cluster=self._cluster)

    def close(self) -> None:
        """Close the local cluster in the background; leaving the context waits for it."""
        if self._starting is not None and self._closing is None:
            self._starting.join()
            if self._cluster is not None:
                self._closing = threading.Thread(target=self._cluster.close, daemon=True)
                self._closing.start()

    def __exit__(self, *exc_info) -> None:
        self.close()
        if self._closing is not None:
            self._closing.join()
        for name, level in self._log_levels.items():
            logging.getLogger(name).setLevel(level)


def crash_if_lost(future: PrefectFuture, error: BaseException) -> None:
    """Mark the task run of `future` Crashed if its worker died before the task could say how it ended (Dask
    gives up on a task whose workers keep dying: `KilledWorker`, after `distributed.scheduler.
    allowed-failures` deaths); the task run would otherwise show as running for ever."""
    with get_client(sync_client=True) as client:
        try:
            task_run = client.read_task_run(future.task_run_id)
        except ObjectNotFound:  # the worker died before the task run was created
            return
        if task_run.state is not None and not task_run.state.is_final():
            message = f"{type(error).__name__}: {' '.join(str(error).split())}"
            client.set_task_run_state(future.task_run_id, Crashed(message=message), force=True)
