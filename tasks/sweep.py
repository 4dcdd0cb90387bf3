"""The sweep's tasks: a stream of trials (run wherever the task runner puts it: a Dask worker on another
machine; it imports no MLflow), and the record of the study in MLflow: a nested run per trial under the
sweep's run, the Optuna plots and the best config on the sweep's run."""

from __future__ import annotations

import warnings

import matplotlib
import mlflow
import optuna
import yaml
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from bilstm import sweep
from bilstm.config import PipelineConfig
from bilstm.data import Series
from bilstm.sweep_space import SearchSpace

matplotlib.use("Agg")  # no display on a worker or a server
STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED", "RUNNING": "FAILED"}


@task(cache_policy=NO_CACHE, task_run_name="trials-{stream}")
def run_trial_stream(
    name: str,
    storage: str,
    series: Series,
    config: PipelineConfig,
    space: SearchSpace,
    options: sweep.SweepOptions,
    count: int,
    stream: int = 0,
) -> list[int]:
    """Run `count` trials of the study one after another; their numbers."""
    return sweep.run_trials(name, storage, series, config, space, options, count, stream)


@task(cache_policy=NO_CACHE)
def record_trials(parent: mlflow.ActiveRun, study: optuna.Study, numbers: list[int]) -> dict[str, int]:
    """A nested run per trial in `numbers`: its values as params, the folds' held-out MSE and its mean,
    each fold's per-epoch losses as curves, its state as a tag (pruned trials end FINISHED, tagged
    PRUNED); the counts by state."""
    client, experiment = MlflowClient(), parent.info.experiment_id
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    counts: dict[str, int] = {}
    for number in sorted(numbers):
        trial = trials[number]
        state = trial.state.name
        counts[state] = counts.get(state, 0) + 1
        started = int(trial.datetime_start.timestamp() * 1000) if trial.datetime_start else None
        run = client.create_run(
            experiment,
            start_time=started,
            run_name=f"trial-{number}",
            tags={"mlflow.parentRunId": parent.info.run_id, "bilstm.kind": "sweep-trial"},
        )
        at = started or 0
        metrics = [Metric("val_mse_scaled", trial.value, at, 0)] if trial.value is not None else []
        metrics += [
            Metric(f"fold_{k}_mse_scaled", value, at, 0)
            for k, value in enumerate(trial.user_attrs.get("fold_mse", []))
        ]
        for fold, curves in trial.user_attrs.get("curves", {}).items():
            for curve, values in curves.items():
                metrics += [Metric(f"fold_{fold}_{curve}", v, at, step) for step, v in enumerate(values, 1)]
        client.log_batch(
            run.info.run_id,
            metrics=metrics,
            params=[Param(key, str(value)) for key, value in trial.params.items()],
            tags=[
                RunTag("optuna.trial_number", str(number)),
                RunTag("optuna.state", state),
                RunTag("bilstm.worker", trial.user_attrs.get("worker", "")),
            ],
        )
        ended = int(trial.datetime_complete.timestamp() * 1000) if trial.datetime_complete else None
        client.set_terminated(run.info.run_id, STATUS.get(state, "FAILED"), ended)
    return counts


@task(cache_policy=NO_CACHE)
def record_study(study: optuna.Study, best: PipelineConfig) -> None:
    """On the sweep's run: the best trial's number, value and values, `best_config.yaml` (usable as
    `--config`), and the optimisation history and parameter importances as images."""
    trial = study.best_trial
    mlflow.log_metric("best_val_mse_scaled", trial.value)
    mlflow.set_tags({"optuna.study": study.study_name, "optuna.best_trial": str(trial.number)})
    mlflow.log_params({f"best.{key}": value for key, value in trial.params.items()})
    mlflow.log_text(yaml.safe_dump(best.model_dump(mode="json"), sort_keys=False), "best_config.yaml")
    with warnings.catch_warnings():  # Optuna's matplotlib plots are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        history = optuna.visualization.matplotlib.plot_optimization_history(study)
        mlflow.log_figure(history.figure, "sweep/optimization_history.png")
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if len(complete) >= 2 and len(trial.params) >= 2:
            importances = optuna.visualization.matplotlib.plot_param_importances(study)
            mlflow.log_figure(importances.figure, "sweep/param_importances.png")
        else:
            get_run_logger().info("Parameter importances need 2 complete trials and 2 fields: not plotted")
