"""Where a backtest's folds run, as a Prefect task runner: in the flow's process one after another (one
worker, no Dask at all), on a local Dask cluster of single-threaded worker processes (prefect-dask's
`DaskTaskRunner` over `distributed.LocalCluster`), or on a running Dask scheduler (`dask_address`).

A local cluster starts in a background thread, its workers importing the fold task (torch, Prefect and the
core) meanwhile: from the command line, before it waits for its Prefect server (`start_early`); in a flow
run that nothing started it for, as the flow starts, while it reads the data and plans the folds. It closes
in the background too, while the flow records the folds. All of it would otherwise sit on the critical path.
"""

from __future__ import annotations

import atexit
import logging
import threading

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from bilstm.folds import BacktestOptions, check_scheduler

SCHEDULER_TIMEOUT = "10s"  # for an existing Dask scheduler to answer
# what a local worker imports as it starts: the fold task (torch, Prefect, the core) and what torch imports
# only at the first optimiser step
WORKER_PRELOAD = ["tasks.fold", "torch._dynamo"]


class LocalClusterStart:
    """A local cluster of `workers` single-threaded processes, starting in a background thread from now on;
    Dask's own log lines are kept to errors from now on too (its start-up and shutdown lines, and the
    traceback of a worker closing, would bury the folds' own; a fold's failure is reported by its task)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.cluster = None
        self.log_level: int | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            self.log_level = _quiet_distributed()  # importing Dask here too: it takes a second
            import dask
            import distributed

            # the workers keep this process's allocator settings (the command's, in GLIBC_TUNABLES): Dask's
            # default MALLOC_TRIM_THRESHOLD_ of 64 KiB hands each step's freed activations back to the OS
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                self.cluster = distributed.LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    preload=WORKER_PRELOAD,
                )
        except BaseException as error:  # noqa: BLE001 - raised in the flow's thread by `result`
            self._error = error

    def result(self):
        """The cluster, once up (its start's error, raised here)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.cluster

    def close(self) -> None:
        """Close the cluster (once up), and let Dask log as before."""
        self._thread.join()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        if self.log_level is not None:
            logging.getLogger("distributed").setLevel(self.log_level)


def _quiet_distributed() -> int:
    """Keep Dask's log lines to errors; the level they had."""
    import distributed  # noqa: F401 - before quieting: importing it sets its loggers' levels

    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.ERROR)
    return level


_early: dict[int, LocalClusterStart] = {}  # local clusters started ahead of their flow, by worker count


def start_early(options: BacktestOptions) -> LocalClusterStart | None:
    """Start the local cluster that a flow run with `options` will use, now, in this process: the command
    line does it before it waits for its Prefect server, so the workers start and import while the server
    does. The flow's `FoldWorkers` takes it over; one that no flow took is closed as the process exits.
    The cluster's start (None where `options` need no local cluster)."""
    if not options.parallel or options.dask_address is not None:
        return None
    if options.workers not in _early:
        _early[options.workers] = start = LocalClusterStart(options.workers)
        atexit.register(_close_unused, options.workers, start)
    return _early[options.workers]


def _close_unused(workers: int, start: LocalClusterStart) -> None:
    if _early.get(workers) is start:
        del _early[workers]
        start.close()


class FoldWorkers:
    """The folds' workers for `options`, as a context manager around the flow's work: a local cluster
    starts on entering (or is taken over from `start_early`) and is closed, at the latest, on leaving."""

    def __init__(self, options: BacktestOptions):
        self.options = options
        self._local: LocalClusterStart | None = None
        self._closing: threading.Thread | None = None
        self._log_level: int | None = None

    def __enter__(self) -> FoldWorkers:
        if self.options.parallel:
            if self.options.dask_address is None:
                self._local = _early.pop(self.options.workers, None) or LocalClusterStart(
                    self.options.workers
                )
            else:
                self._log_level = _quiet_distributed()
        return self

    @property
    def slots(self) -> int | None:
        """How many folds run at once: the worker count, or None on a scheduler whose workers are its own."""
        return None if self.options.dask_address else self.options.workers

    def runner(self) -> TaskRunner:
        """A task runner for the folds, not yet entered: the local cluster's (waiting for it to be up), the
        scheduler's at `dask_address` (checked to listen first: a refused connection fails at once), or a
        single thread here."""
        if not self.options.parallel:
            return ThreadPoolTaskRunner(max_workers=1)
        from prefect_dask import DaskTaskRunner

        if self.options.dask_address:
            check_scheduler(self.options.dask_address)
            timeout = {"timeout": SCHEDULER_TIMEOUT}
            return DaskTaskRunner(address=self.options.dask_address, client_kwargs=timeout)
        return DaskTaskRunner(cluster=self._local.result())

    def close(self) -> None:
        """Close the local cluster in the background; leaving the context waits for it."""
        if self._local is not None and self._closing is None:
            self._closing = threading.Thread(target=self._local.close, daemon=True)
            self._closing.start()

    def __exit__(self, *exc_info) -> None:
        self.close()
        if self._closing is not None:
            self._closing.join()
        if self._log_level is not None:
            logging.getLogger("distributed").setLevel(self._log_level)
