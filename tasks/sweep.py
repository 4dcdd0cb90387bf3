"""The sweep's records in MLflow (its trials run in tasks/sweep_trial.py): a nested run per trial under the
sweep's run, the Optuna plots and the best config on the sweep's run."""

from __future__ import annotations

import warnings

import matplotlib
import mlflow
import optuna
import yaml
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from optuna.trial import FrozenTrial
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from bilstm import sweep
from bilstm.config import PipelineConfig
from tasks import checkpoints
from tasks.stale_runs import claim_job, end_killed, job_key

matplotlib.use("Agg")  # no display on a worker or a server
STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}
FINISHED = tuple(optuna.trial.TrialState[state] for state in STATUS)


@task(cache_policy=NO_CACHE)
def claim_sweep(parent: mlflow.ActiveRun, study: str, storage: str) -> checkpoints.Claim:
    """This sweep's claim on its study; the MLflow run of a killed earlier sweep of it marked KILLED and its
    Prefect runs CRASHED (the study's own stale trials are failed, and run again, as the study opens)."""
    owner = {"run_id": parent.info.run_id, "flow_run_id": str(flow_run.id)}
    claim = claim_job("sweeps", job_key(study, storage), owner)
    if killed := end_killed(claim.previous_owner or {}, resumed_by=parent.info.run_id):
        get_run_logger().info("MLflow run %s of a killed sweep of study %r marked KILLED", killed, study)
    return claim


def record_finished(parent: mlflow.ActiveRun, study: optuna.Study, recorded: set[int]) -> list[FrozenTrial]:
    """A nested run under `parent` for each trial of `study` that has finished (complete, pruned or
    failed) and whose number is not in `recorded` yet (then added): its values as params, the folds'
    held-out MSE and its mean, each fold's per-epoch losses as curves, its state as a tag (pruned trials
    end FINISHED, tagged PRUNED; failed ones FAILED, tagged with their error). The trials recorded now.

    Not a task: the flow calls it every few seconds while trials run, so they show as they end."""
    client, experiment = MlflowClient(), parent.info.experiment_id
    new = [
        trial for trial in study.get_trials(deepcopy=False, states=FINISHED) if trial.number not in recorded
    ]
    for trial in sorted(new, key=lambda t: t.number):
        _record(client, experiment, parent.info.run_id, trial)
        recorded.add(trial.number)
        if trial.state.name == "FAIL":
            get_run_logger().warning("Trial %d failed: %s", trial.number, _error(trial))
    return new


def _error(trial: FrozenTrial) -> str:
    """A failed trial's error; none recorded: its process died and the heartbeat marked it."""
    return trial.user_attrs.get(sweep.ERROR_ATTR, "its process died (no heartbeat within the grace period)")


def _record(client: MlflowClient, experiment: str, parent_id: str, trial: FrozenTrial) -> None:
    state = trial.state.name
    started = int(trial.datetime_start.timestamp() * 1000) if trial.datetime_start else None
    run = client.create_run(
        experiment,
        start_time=started,
        run_name=f"trial-{trial.number}",
        tags={"mlflow.parentRunId": parent_id, "bilstm.kind": "sweep-trial"},
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
    tags = [
        RunTag("optuna.trial_number", str(trial.number)),
        RunTag("optuna.state", state),
        RunTag("bilstm.worker", trial.user_attrs.get("worker", "")),
    ]
    if sweep.ORIGIN_ATTR in trial.user_attrs:
        tags.append(RunTag("bilstm.trial_origin", trial.user_attrs[sweep.ORIGIN_ATTR]))
    if state == "FAIL":  # no error recorded: its process died and the heartbeat marked it
        tags.append(RunTag("bilstm.trial_error", _error(trial)))
    client.log_batch(
        run.info.run_id,
        metrics=metrics,
        params=[Param(key, str(value)) for key, value in trial.params.items()],
        tags=tags,
    )
    ended = int(trial.datetime_complete.timestamp() * 1000) if trial.datetime_complete else None
    client.set_terminated(run.info.run_id, STATUS[state], ended)


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
