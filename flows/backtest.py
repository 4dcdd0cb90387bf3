"""The backtest flow: ingest -> settings left to the data -> plan the folds -> claim the job (a killed earlier
run's finished folds taken over) -> run the other folds (in parallel on a Dask cluster where asked), a child
MLflow run per fold as it ends -> the fold table, plot and summary.

Nothing is registered and no champion moves: a backtest says how a config would have done at several
origins, of one series or of every series of a long table at once (the fold table holds the means over
series). One MLflow run per flow run (tagged `bilstm.kind=backtest`), its folds' runs nested under it.
"""

from __future__ import annotations

import time

import mlflow
from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run

from bilstm.backtest import FoldOutcome
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import SeriesTable
from bilstm.evaluation import baseline_shortfalls
from bilstm.folds import BacktestOptions, Fold
from flows.fold_workers import FoldWorkers, crash_if_lost
from tasks.backtest import (
    ReusedModelFailedError,
    claim_backtest,
    plan_backtest,
    publish_backtest_report,
    record_fold,
    record_folds,
)
from tasks.dask_scheduler import lost_scheduler, unreachable_scheduler
from tasks.data import fit_settings_to_data, ingest
from tasks.fold import run_fold
from tasks.tracking import start_tracking
from tracking.backtests import RecordedFold
from tracking.runs import run_url, tracked_run
from tracking.store import use_tracking

PRELOAD = ("torch._dynamo", "mlflow.store.tracking.sqlalchemy_store")


@flow(name="backtest", log_prints=True)
def backtest_flow(
    config: PipelineConfig = PipelineConfig(),  # noqa: B008 - pydantic default
    backtest: BacktestOptions = BacktestOptions(),  # noqa: B008 - pydantic default
) -> dict:
    """Backtest a config over rolling origins: train and score it on each fold, track each in MLflow."""
    started = time.perf_counter()
    use_tracking(config.registry.experiment)
    with tracked_run(flow_run.name) as run, FoldWorkers(backtest) as workers:
        mlflow.set_tag("bilstm.kind", "backtest")
        start_tracking(config)
        series = ingest(config.data)
        config = fit_settings_to_data(config, series).config
        folded, folds, left_out = plan_backtest(series, config, backtest)
        claim, recorded, notes = claim_backtest(run, series, config, backtest, folds)
        if backtest.parallel:  # one torch thread per single-threaded worker process: they share the cores
            config = with_overrides(config, {"train.threads": 1})
        try:
            outcomes = run_folds(run, folded, config, folds, workers, recorded)
            table, metrics = record_folds(folded, outcomes, folds)
        finally:
            claim.release()
        summary = {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "run_url": run_url(run),
            "flow_run_id": str(flow_run.id),
            "folds": table.to_dict("records"),
            "metrics": metrics,
            "warnings": [
                *left_out,  # series too short for the folds, with data.skip_short
                *notes,  # a killed earlier run's folds not taken over, and why
                *baseline_shortfalls(
                    {k.removeprefix("mean_"): v for k, v in metrics.items()}, "mean test {} over the folds"
                ),
            ],
            "wall_seconds": round(time.perf_counter() - started, 3),
        }
        if series.series_column is not None:
            summary |= {"series": len(folded.ids), "series_left_out": len(series.ids) - len(folded.ids)}
        publish_backtest_report(summary)
    return summary


def run_folds(
    parent: mlflow.ActiveRun,
    series: SeriesTable,
    config: PipelineConfig,
    folds: list[Fold],
    workers: FoldWorkers,
    recorded: dict[int, RecordedFold] | None = None,
) -> list[FoldOutcome | RecordedFold | BaseException]:
    """Run every fold not `recorded` already on `workers`, each recorded under `parent` as it ends: first
    the folds that train, all at once, then those that reuse an earlier fold's model, once it is trained;
    then close a local cluster in the background. A fold's outcome or its error, in fold order."""
    address = workers.options.dask_address
    runner = workers.runner()
    with runner:
        outcomes: dict[int, FoldOutcome | RecordedFold | BaseException] = dict(recorded or {})

        def take(fold: Fold, outcome: FoldOutcome | BaseException) -> None:
            outcomes[fold.index] = outcome
            record_fold(parent, series, fold, outcome)

        def submit(fold: Fold, trained=None) -> PrefectFuture:
            parameters = {"series": series, "config": config, "fold": fold, "trained": trained}
            return runner.submit(run_fold, parameters)

        # the newest folds have the most train rows and take longest: they start first, and each worker
        # that frees takes the largest fold left (a worker count's worth in flight: Dask would hand the
        # queued folds to workers in no particular order)
        to_run = [fold for fold in folds if fold.index not in outcomes]
        waiting = sorted((f for f in to_run if f.retrains), key=lambda f: f.split.borders()[0], reverse=True)
        in_flight: dict[PrefectFuture, Fold] = {}

        def fill() -> None:
            while waiting and (workers.slots is None or len(in_flight) < workers.slots):
                fold = waiting.pop(0)
                in_flight[submit(fold)] = fold

        try:  # the first submission connects to the cluster
            fill()
        except OSError as error:  # distributed's OSError / TimeoutError: no scheduler at the address
            if address is None:
                raise
            raise unreachable_scheduler(address, str(error)) from None
        while in_flight:
            done = next(as_completed(list(in_flight)))
            take(in_flight.pop(done), _outcome(done))
            fill()
        scoring = {}  # by fold index: a fold's split holds arrays, so a fold is no dict key
        for fold in (f for f in to_run if not f.retrains):
            trainer = outcomes[fold.trained_by]
            if isinstance(trainer, BaseException):
                take(fold, ReusedModelFailedError(f"it reuses fold {fold.trained_by}'s model, which failed"))
            else:  # a fold taken over is taken with every fold using its model: this trainer ran here
                scoring[fold.index] = submit(fold, trainer.forecaster)
        for index, outcome in _as_completed(scoring).items():
            take(folds[index], outcome)
    workers.close()
    if address is not None:  # a lost scheduler fails every fold left: their runs say so, the flow in one line
        for index, outcome in outcomes.items():
            if isinstance(outcome, BaseException):
                outcomes[index] = lost_scheduler(address, outcome) or outcome
    return [outcomes[fold.index] for fold in folds]


def _as_completed(futures: dict[int, PrefectFuture]) -> dict[int, FoldOutcome | BaseException]:
    """Each fold's outcome (or error) by its index, taken as the folds finish."""
    fold_of = {future: index for index, future in futures.items()}
    return {fold_of[future]: _outcome(future) for future in as_completed(list(futures.values()))}


def _outcome(future: PrefectFuture) -> FoldOutcome | BaseException:
    """The fold's outcome, with a line in the flow's log saying how it did (the folds' progress)."""
    try:
        outcome = future.result()
    except Exception as error:  # noqa: BLE001 - a fold's failure is recorded, the others go on
        crash_if_lost(future, error)
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
