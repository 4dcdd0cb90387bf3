"""The sweep flow: ingest -> the search space checked against the data -> the Optuna study (created, or
resumed by name) -> the trials (in parallel on a Dask cluster where asked) -> a nested MLflow run per
trial, the plots and the best config on the sweep's run -> the best config retrained by the training flow,
scored once on the untouched test windows and registered through its gate.

The trials never see the test split: each is scored on rolling-origin folds that end where it starts.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import mlflow
import optuna
from mlflow import MlflowClient
from prefect import flow, get_run_logger
from prefect.futures import wait
from prefect.runtime import flow_run

from bilstm import sweep
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import SeriesTable
from bilstm.folds import BacktestOptions
from bilstm.sweep_space import SearchSpace
from flows.fold_workers import FoldWorkers
from flows.train import train_flow
from tasks.backtest import with_notes
from tasks.dask_scheduler import unreachable_scheduler
from tasks.data import ingest
from tasks.stale_runs import releasing
from tasks.sweep import FINISHED, claim_sweep, record_finished, record_study
from tasks.sweep_trial import run_trial_task
from tasks.tracking import start_tracking
from tracking.runs import run_url, tracked_run
from tracking.store import tracking_uri, use_tracking

PRELOAD = ("torch._dynamo", "mlflow.store.tracking.sqlalchemy_store")
# the trials that count toward --trials: a failed one is run again by a resume
COUNTED_STATES = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
RECORD_EVERY_SECONDS = 2  # how often the flow records the trials that ended, while trials run
WORKER_PRELOAD = ("tasks.sweep_trial", "torch._dynamo")  # what a local cluster's workers import as they start


def default_storage() -> str:
    """`optuna.db` beside a SQLite MLflow store, else in the working directory (a tracking server's
    machine is not this one: give --storage a database the trial workers share)."""
    uri = tracking_uri()
    folder = Path(urlsplit(uri).path).parent if uri.startswith("sqlite:///") else Path.cwd()
    return f"sqlite:///{folder / 'optuna.db'}"


@flow(name="sweep", log_prints=True)
def sweep_flow(
    config: PipelineConfig = PipelineConfig(),  # noqa: B008 - pydantic default
    sweep_options: sweep.SweepOptions = sweep.SweepOptions(),  # noqa: B008 - pydantic default
    space: dict | None = None,
) -> dict:
    """Search the space for the config with the lowest mean fold MSE; retrain and register the best.

    Args:
        config: The starting config; the space's fields override it in each trial.
        sweep_options: Trials, time budget, folds, where the trials run, the study to create or resume.
        space: Search space, config field -> {"low": A, "high": B, "log": true} or {"choices": [...]},
            e.g. {"train.lr": {"low": 0.0001, "high": 0.01, "log": true}}; empty: the default space.
    """
    started = time.perf_counter()
    search = SearchSpace(space, "the search space") if space else SearchSpace.default()
    name = sweep_options.study or f"{config.registry.model_name}-sweep"
    storage = sweep.storage_url(sweep_options, default_storage())
    logger = get_run_logger()
    use_tracking(config.registry.experiment)
    where = BacktestOptions(workers=sweep_options.workers, dask_address=sweep_options.dask_address)
    workers = FoldWorkers(where, preload=WORKER_PRELOAD)
    with workers:  # a local cluster starts now, and closes while the best config retrains
        with tracked_run(flow_run.name) as run, releasing(claim_sweep(run, name, storage)):
            mlflow.set_tag("bilstm.kind", "sweep")
            start_tracking(config)
            options = sweep_options.model_dump() | {"storage": sweep.shown(storage)}
            mlflow.log_params({f"sweep.{key}": value for key, value in options.items()})
            # the series every trial's folds fit (too short ones left out with data.skip_short)
            fits = (ingest(config.data), config, search, sweep_options)
            series, left_out = with_notes(sweep.check_space_fits, *fits)
            study, recorded, to_run = _open_study(name, storage, search, config, series, sweep_options.trials)
            trial_config = config
            if sweep_options.workers > 1 or sweep_options.dask_address:  # single-threaded, sharing the cores
                trial_config = with_overrides(config, {"train.threads": 1})
            trial = {"name": name, "storage": storage, "series": series, "config": trial_config}
            trial |= {"space": search, "options": sweep_options}
            ran = _run_trials(workers, trial, to_run, lambda: record_finished(run, study, recorded))
            counts = Counter(trial.state.name for trial in ran)
            if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
                raise _nothing_completed(name, counts, ran)
            best = with_overrides(config, study.best_trial.params)
            record_study(study, best)
            logger.info("Best trial %d: mean fold MSE %.5f", study.best_trial.number, study.best_value)
        retrained = train_flow(best)
    client = MlflowClient()
    client.set_tag(run.info.run_id, "bilstm.best_run_id", retrained["run_id"])
    client.set_tag(retrained["run_id"], "bilstm.sweep_run_id", run.info.run_id)
    return {
        "run_id": run.info.run_id,
        "run_url": run_url(run),
        "study": name,
        "trials": len(ran),
        "pruned": counts["PRUNED"],
        "failed": counts["FAIL"],
        "best_value": study.best_value,
        "best_config": study.best_trial.params,
        "test_mse_scaled": retrained["metrics"]["test_mse_scaled"],
        "model_version": retrained["model_version"],
        "promoted": retrained["promoted"],
        "train_run_id": retrained["run_id"],
        "wall_seconds": round(time.perf_counter() - started, 3),
        "warnings": left_out,  # series too short for the folds, left out with data.skip_short
    }


def _open_study(
    name: str, storage: str, search: SearchSpace, config: PipelineConfig, series: SeriesTable, trials: int
) -> tuple[optuna.Study, set[int], int]:
    """The study, created or resumed (its stale trials failed, a new one's first trial queued with the
    config's own values); the numbers of the trials that ended before this sweep (recorded by the sweeps
    that ran them) and how many trials this sweep runs."""
    logger = get_run_logger()
    study = sweep.make_study(name, storage, search, config.train.seed, epochs=config.train.epochs)
    recorded = {t.number for t in study.get_trials(deepcopy=False, states=FINISHED)}
    # a trial left RUNNING by a killed process: FAIL, and tried again by this sweep (experimental API)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    done = len(study.get_trials(deepcopy=False, states=COUNTED_STATES))
    if own := sweep.start_from(study, search, sweep.trial_config(config, series, {})):
        logger.info("Trial 0 tries the starting config's own values: %s", own)
    to_run = max(0, trials - done)
    where = sweep.shown(storage)
    logger.info("Study %r in %s: %d trials finished before, %d to run", name, where, done, to_run)
    return study, recorded, to_run


def _nothing_completed(name: str, counts: Counter, ran: list) -> sweep.SweepFailedError:
    errors = [t.user_attrs[sweep.ERROR_ATTR] for t in ran if sweep.ERROR_ATTR in t.user_attrs]
    first = f"; the first error: {errors[0]}" if errors else ""
    return sweep.SweepFailedError(
        f"no trial of study {name!r} completed ({counts['FAIL']} failed, {counts['PRUNED']} pruned): nothing"
        f" to retrain or register{first}. The trials' errors are tagged bilstm.trial_error on their runs"
    )


def _run_trials(workers: FoldWorkers, trial: dict, count: int, record: Callable[[], list]) -> list:
    """`count` trials (`run_trial_task` with the parameters `trial`) submitted at once, the workers taking
    the next as each frees, each recorded by `record` within ~2 s of its end; the trials recorded (all of
    this sweep's that ended)."""
    ran = record()  # a trial that a resumed sweep's fail_stale_trials just failed
    if count == 0:
        return ran
    options = trial["options"]
    deadline = time.time() + options.timeout if options.timeout else None
    runner = workers.runner()
    with runner:
        try:  # the first submission connects to the cluster
            futures = [
                runner.submit(run_trial_task, trial | {"slot": slot, "deadline": deadline})
                for slot in range(count)
            ]
        except OSError as error:  # no scheduler at the address
            if options.dask_address is None:
                raise
            raise unreachable_scheduler(options.dask_address, str(error)) from None
        try:
            while wait(futures, timeout=RECORD_EVERY_SECONDS).not_done:
                ran += record()
            for future in futures:
                future.result()  # a trial whose worker was lost too often fails the sweep
        finally:
            ran += record()
    workers.close()
    return ran
