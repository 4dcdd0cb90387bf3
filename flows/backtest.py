"""The backtest flow: ingest -> settings left to the data -> plan the folds -> run the folds (in parallel on a
Dask cluster where asked) -> a child MLflow run per fold -> the fold table, plot and summary.

Nothing is registered and no champion moves: a backtest says how a config would have done at several
origins. One MLflow run per flow run (tagged `bilstm.kind=backtest`), its folds' runs nested under it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from bilstm.backtest import FoldOutcome
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import Series
from bilstm.evaluation import baseline_shortfalls
from bilstm.folds import BacktestOptions, Fold, check_scheduler, unreachable_scheduler
from tasks.backtest import ReusedModelFailedError, plan_backtest, publish_backtest_report, record_folds
from tasks.data import fit_settings_to_data, ingest
from tasks.fold import run_fold
from tasks.tracking import start_tracking
from tracking.runs import run_url, tracked_run
from tracking.store import use_tracking

PRELOAD = ("torch._dynamo", "mlflow.store.tracking.sqlalchemy_store")
SCHEDULER_TIMEOUT = "10s"  # for an existing Dask scheduler to answer


@flow(name="backtest", log_prints=True)
def backtest_flow(
    config: PipelineConfig = PipelineConfig(),  # noqa: B008 - pydantic default
    backtest: BacktestOptions = BacktestOptions(),  # noqa: B008 - pydantic default
) -> dict:
    """Backtest a config over rolling origins: train and score it on each fold, track each in MLflow."""
    started = time.perf_counter()
    use_tracking(config.registry.experiment)
    with tracked_run(flow_run.name) as run:
        mlflow.set_tag("bilstm.kind", "backtest")
        start_tracking(config)
        series = ingest(config.data)
        config = fit_settings_to_data(config, series).config
        folds = plan_backtest(series, config, backtest)
        if backtest.parallel:  # one torch thread per single-threaded worker process: they share the cores
            config = with_overrides(config, {"train.threads": 1})
        outcomes = run_folds(series, config, folds, backtest)
        table, metrics = record_folds(run, series, outcomes, folds)
        summary = {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "run_url": run_url(run),
            "flow_run_id": str(flow_run.id),
            "folds": table.to_dict("records"),
            "metrics": metrics,
            "warnings": [
                line.replace("test MSE", "mean test MSE over the folds")
                for line in baseline_shortfalls({k.removeprefix("mean_"): v for k, v in metrics.items()})
            ],
            "wall_seconds": round(time.perf_counter() - started, 3),
        }
        publish_backtest_report(summary)
    return summary


def fold_runner(options: BacktestOptions) -> TaskRunner:
    """Where the folds run: here, one after another, for one worker; else a Dask cluster through
    prefect-dask, the scheduler at `dask_address` or a local cluster of single-threaded worker processes."""
    if not options.parallel:
        return ThreadPoolTaskRunner(max_workers=1)
    from prefect_dask import DaskTaskRunner  # dask starts only where it is used

    if options.dask_address:
        return DaskTaskRunner(address=options.dask_address, client_kwargs={"timeout": SCHEDULER_TIMEOUT})
    cluster = {"n_workers": options.workers, "threads_per_worker": 1, "processes": True}
    return DaskTaskRunner(cluster_kwargs=cluster | {"dashboard_address": None})


def run_folds(
    series: Series, config: PipelineConfig, folds: list[Fold], options: BacktestOptions
) -> list[FoldOutcome | BaseException]:
    """Run every fold on `fold_runner(options)`: first the folds that train, all at once, then those that
    reuse an earlier fold's model, once it is trained. A fold's outcome or its error, in fold order."""
    if options.dask_address:  # a refused connection fails at once, not after the client's timeout
        check_scheduler(options.dask_address)
    runner = fold_runner(options)  # first: importing distributed sets its loggers' levels
    with _quiet_dask(), runner:
        outcomes: dict[int, FoldOutcome | BaseException] = {}

        def submit(fold: Fold, trained=None) -> PrefectFuture:
            parameters = {"series": series, "config": config, "fold": fold, "trained": trained}
            return runner.submit(run_fold, parameters)

        try:  # the first submission connects to the cluster
            training = {fold.index: submit(fold) for fold in folds if fold.retrains}
        except OSError as error:  # distributed's OSError / TimeoutError: no scheduler at the address
            if options.dask_address is None:
                raise
            raise unreachable_scheduler(options.dask_address, str(error)) from None
        outcomes |= {index: _outcome(future) for index, future in training.items()}
        scoring = {}
        for fold in (f for f in folds if not f.retrains):
            trainer = outcomes[fold.trained_by]
            if isinstance(trainer, BaseException):
                reason = f"it reuses fold {fold.trained_by}'s model, which failed"
                outcomes[fold.index] = ReusedModelFailedError(reason)
            else:
                scoring[fold.index] = submit(fold, trainer.forecaster)
        outcomes |= {index: _outcome(future) for index, future in scoring.items()}
    return [outcomes[fold.index] for fold in folds]


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's loggers at ERROR while the folds run: a local cluster's start-up and shutdown lines (and the
    traceback of a worker closing) would bury the folds' own; a fold's failure is reported by its task."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _outcome(future: PrefectFuture) -> FoldOutcome | BaseException:
    """The fold's outcome, with a line in the flow's log saying how it did (the folds' progress)."""
    try:
        outcome = future.result()
    except Exception as error:  # noqa: BLE001 - a fold's failure is recorded, the others go on
        return error
    metrics = outcome.evaluation.metrics
    get_run_logger().info(
        "Fold %d done on %s: test MSE (scaled) %.4f, persistence %.4f, seasonal naive %.4f",
        outcome.fold.index,
        outcome.worker,
        metrics["test_mse_scaled"],
        metrics["naive_test_mse_scaled"],
        metrics["seasonal_naive_test_mse_scaled"],
    )
    return outcome
