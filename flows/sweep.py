"""The sweep flow: ingest -> the search space checked against the data -> the Optuna study (created, or
resumed by name) -> streams of trials (in parallel on a Dask cluster where asked) -> a nested MLflow run per
trial, the plots and the best config on the sweep's run -> the best config retrained by the training flow,
scored once on the untouched test windows and registered through its gate.

The trials never see the test split: each is scored on rolling-origin folds that end where it starts.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import mlflow
import optuna
from mlflow import MlflowClient
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from bilstm import sweep
from bilstm.config import PipelineConfig, with_overrides
from bilstm.folds import BacktestOptions, unreachable_scheduler
from bilstm.sweep_space import SearchSpace
from flows.fold_workers import FoldWorkers
from flows.train import train_flow
from tasks.data import ingest
from tasks.sweep import record_study, record_trials, run_trial_stream
from tasks.tracking import start_tracking
from tracking.runs import run_url, tracked_run
from tracking.store import tracking_uri, use_tracking

PRELOAD = ("torch._dynamo", "mlflow.store.tracking.sqlalchemy_store")
FINISHED_STATES = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


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
    storage = sweep_options.storage or default_storage()
    logger = get_run_logger()
    use_tracking(config.registry.experiment)
    where = BacktestOptions(workers=sweep_options.workers, dask_address=sweep_options.dask_address)
    workers = FoldWorkers(where)
    with tracked_run(flow_run.name) as run, workers:
        mlflow.set_tag("bilstm.kind", "sweep")
        start_tracking(config)
        mlflow.log_params({f"sweep.{k}": v for k, v in sweep_options.model_dump().items() if k != "storage"})
        series = ingest(config.data)
        sweep.check_space_fits(series, config, search, sweep_options)
        study = sweep.make_study(name, storage, search, config.train.seed, epochs=config.train.epochs)
        finished = len(study.get_trials(deepcopy=False, states=FINISHED_STATES))
        to_run = max(0, sweep_options.trials - finished)
        logger.info("Study %r: %d trials finished before, %d to run", name, finished, to_run)
        trial_config = config
        if sweep_options.workers > 1 or sweep_options.dask_address:  # single-threaded workers share the cores
            trial_config = with_overrides(config, {"train.threads": 1})
        numbers = _run_streams(workers, name, storage, series, trial_config, search, sweep_options, to_run)
        counts = record_trials(run, study, numbers)
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
        "trials": len(numbers),
        "pruned": counts.get("PRUNED", 0),
        "failed": counts.get("FAIL", 0),
        "best_value": study.best_value,
        "best_config": study.best_trial.params,
        "test_mse_scaled": retrained["metrics"]["test_mse_scaled"],
        "model_version": retrained["model_version"],
        "promoted": retrained["promoted"],
        "train_run_id": retrained["run_id"],
        "wall_seconds": round(time.perf_counter() - started, 3),
    }


def _run_streams(workers, name, storage, series, config, space, options, trials) -> list[int]:
    """The trials shared out over the workers' streams, run at once; the trial numbers they ran."""
    if trials == 0:
        return []
    runner = workers.runner()
    with runner:
        try:  # the first submission connects to the cluster
            futures = [
                runner.submit(
                    run_trial_stream,
                    {
                        "name": name,
                        "storage": storage,
                        "series": series,
                        "config": config,
                        "space": space,
                        "options": options,
                        "count": count,
                        "stream": stream,
                    },
                )  # fmt: skip
                for stream, count in enumerate(sweep.stream_counts(trials, options.workers))
            ]
        except OSError as error:  # no scheduler at the address
            if options.dask_address is None:
                raise
            raise unreachable_scheduler(options.dask_address, str(error)) from None
        numbers = [number for future in futures for number in future.result()]
    workers.close()
    return numbers
