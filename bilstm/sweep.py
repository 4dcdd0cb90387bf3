"""A hyperparameter sweep's trials: each trial takes its values from the search space, trains a model per
rolling-origin fold that ends before the test split (so the test windows stay untouched until the best
config is retrained), and scores the mean of the folds' held-out MSE (scaled; over the series of a long
table, the mean over series). Optuna samples (TPE) and prunes (median rule on the per-epoch validation
loss); the study lives in an RDB storage that every process running trials shares, so trials run in
parallel and a study resumes by name.

Light on imports (Optuna, the core), so a Dask worker running trials loads no MLflow or Prefect server code.
"""

from __future__ import annotations

import os
import socket
import statistics
import time
import warnings
from typing import Any

import numpy
import optuna
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.engine import make_url

from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import SeriesTable
from bilstm.defaults import resolve
from bilstm.errors import option_problems
from bilstm.folds import BacktestError, BacktestOptions, plan_folds
from bilstm.sweep_space import SearchSpace, SweepError

SPACE_ATTR = "bilstm.space"  # the study's user attribute holding its search space
PRUNER_WARMUP_EPOCHS = 2  # no trial is pruned on its first epochs: they say little of its final loss
ERROR_ATTR = "error"  # a failed trial's user attribute: its exception, one line
ORIGIN_ATTR = "origin"  # the user attribute of the trial queued with the starting config's values
STORAGE_ENV = "BILSTM_SWEEP_STORAGE"  # the storage URL by environment: a password stays off command lines
# a trial whose process died (its heartbeat older than the grace period) is marked FAIL by the next trial
# any worker starts, or by a resumed sweep, and tried once more with the same values
HEARTBEAT_SECONDS, GRACE_SECONDS, RETRIES = 3, 15, 1
# what a trial that raises in training ends as: FAIL, recorded, and the sweep goes on
TRIAL_ERRORS = (Exception,)


class SweepFailedError(RuntimeError):
    """A sweep in which no trial completed: there is no best config to retrain."""


class SweepOptions(BaseModel):
    """How to sweep: the trials, the time budget, the folds each trial is scored on, where trials run and
    the study they belong to. Typed, so the `sweep` deployment's form shows each with its default."""

    trials: int = Field(20, ge=1, description="Trials in the study, this sweep's and any resumed ones")
    timeout: float | None = Field(None, gt=0, description="Stop starting trials after this many seconds")
    folds: int = Field(2, ge=1, description="Rolling-origin folds per trial, all before the test split")
    workers: int = Field(
        1, ge=1, description="Trials at once, on a local Dask cluster of this many workers; 1 runs them here"
    )
    dask_address: str | None = Field(
        None,
        description="An existing Dask scheduler (tcp://host:8786) instead of a local cluster: all its workers"
        " take trials",
    )
    study: str | None = Field(None, description="Study name, to resume [default: <model name>-sweep]")
    storage: str | None = Field(
        None,
        description=f"Optuna storage URL [default: ${STORAGE_ENV}, else optuna.db beside the MLflow store]",
    )

    @classmethod
    def checked(cls, **options) -> SweepOptions:
        """The options, or a `SweepError` naming the command-line option that is wrong."""
        try:
            return cls(**options)
        except ValidationError as error:
            raise SweepError(option_problems(error)) from None


def storage_url(options: SweepOptions, default: str) -> str:
    """The study's storage: the option, else $BILSTM_SWEEP_STORAGE, else `default`."""
    return options.storage or os.environ.get(STORAGE_ENV) or default


def shown(url: str) -> str:
    """A storage URL as it may be printed or recorded: its password, if any, as `***`."""
    try:
        parsed = make_url(url)
        return url if parsed.password is None else parsed.render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy parses: show nothing of it that could be secret
        return url.split("://", 1)[0] + "://..."


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """The RDB storage at `url`, with the heartbeat that turns a killed process's trial into FAIL (and
    one retry); SQLite waits up to 30 s for another process's write instead of failing at once."""
    engine = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else None
    with warnings.catch_warnings():  # the heartbeat and its retry callback are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine,
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=RETRIES
            ),
        )


def fold_options(options: SweepOptions) -> BacktestOptions:
    return BacktestOptions(folds=options.folds)


def trial_config(config: PipelineConfig, series: SeriesTable, values: dict[str, Any]) -> PipelineConfig:
    """`config` with a trial's values set, the settings still left to the data resolved against `series`."""
    return resolve(with_overrides(config, values), series).config


def check_space_fits(
    series: SeriesTable, config: PipelineConfig, space: SearchSpace, options: SweepOptions
) -> SeriesTable:
    """Raise `SweepError` unless the folds fit before the test split with the space's longest lookback
    (and with the config's own where the space leaves it alone); the series every trial's folds fit (those
    too short left out, with a warning, where `data.skip_short`), which the trials then run on, so that
    every trial is scored on the same series."""
    lookback = space.distributions.get("window.lookback")
    values = {}
    if lookback is not None:
        choices = getattr(lookback, "choices", None)
        values["window.lookback"] = max(choices) if choices else lookback.high
    try:
        folds = fold_options(options)
        kept, _ = plan_folds(series, trial_config(config, series, values), folds, before_test=True)
        if len(kept.ids) < len(series.ids):  # the trials fill in the settings left to the data from these
            plan_folds(kept, trial_config(config, kept, values), folds, before_test=True)
    except BacktestError as error:
        longest = values.get("window.lookback")
        where = f" (checked with window.lookback {longest}, the space's longest)" if values else ""
        raise SweepError(f"{error}{where}") from None
    return kept


def run_trial(
    trial: optuna.Trial,
    series: SeriesTable,
    config: PipelineConfig,
    space: SearchSpace,
    options: SweepOptions,
) -> float:
    """One trial: its config, a model per fold trained and scored; the mean over the folds of their
    held-out MSE (scaled; of many series, each fold's mean over series). Reports each epoch's validation
    loss (step: fold x epochs + epoch) and stops when pruned."""
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    try:
        return _scored(trial, series, config, space, options)
    except TRIAL_ERRORS as error:
        trial.set_user_attr(ERROR_ATTR, f"{type(error).__name__}: {error}".splitlines()[0][:500])
        raise


def _scored(
    trial: optuna.Trial,
    series: SeriesTable,
    config: PipelineConfig,
    space: SearchSpace,
    options: SweepOptions,
) -> float:
    from bilstm import pipeline  # torch loads with the first trial, not with the CLI's checks of a sweep

    resolved = trial_config(config, series, space.suggest(trial))
    epochs = resolved.train.epochs
    fold_mse, curves = [], {}
    series, folds = plan_folds(series, resolved, fold_options(options), before_test=True)
    for fold in folds:
        prepared = pipeline.split_and_scale(series, resolved, fold.split)
        forecaster = pipeline.new_forecaster(prepared, resolved)

        def report(epoch: int, metrics: dict[str, float], index: int = fold.index) -> None:
            trial.report(metrics["val_loss"], index * epochs + epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at fold {index}, epoch {epoch}")

        training_log = pipeline.fit_forecaster(
            forecaster, pipeline.make_train_windows(prepared, resolved), resolved, report, progress=False
        )
        curves[str(fold.index)] = {"train_loss": training_log.train_loss, "val_loss": training_log.val_loss}
        trial.set_user_attr("curves", curves)
        evaluation = pipeline.evaluate_forecaster(forecaster, prepared)
        fold_mse.append(evaluation.metrics["test_mse_scaled"])
    trial.set_user_attr("fold_mse", fold_mse)
    return statistics.fmean(fold_mse)


def make_study(
    name: str, storage: str, space: SearchSpace, seed: int, slot: int = 0, epochs: int = 1
) -> optuna.Study:
    """The study `name` in `storage`, created on first use with `space` recorded; a study that exists
    with another space is refused. The sampler's seed comes from `seed`, the trial's `slot` in its sweep
    and the trials the study holds already, so trials started at once, a trial Dask runs again after losing
    its worker, and a resumed sweep each draw their own values rather than repeat another's."""
    study = optuna.create_study(study_name=name, storage=open_storage(storage), load_if_exists=True)
    recorded = study.user_attrs.get(SPACE_ATTR)
    if recorded is None:
        study.set_user_attr(SPACE_ATTR, space.fingerprint())
    elif recorded != space.fingerprint():
        raise SweepError(
            f"study {name!r} in {shown(storage)} was run with another search space ({recorded}); resume it"
            " with that space, or name a new study with --study"
        )
    held = len(study.get_trials(deepcopy=False))
    study.sampler = optuna.samplers.TPESampler(seed=sampler_seed(seed, slot, held))
    study.pruner = optuna.pruners.MedianPruner(
        n_startup_trials=3, n_warmup_steps=min(PRUNER_WARMUP_EPOCHS, epochs)
    )
    return study


def start_from(study: optuna.Study, space: SearchSpace, config: PipelineConfig) -> dict[str, Any]:
    """In a study that holds no trial yet, queue a first trial with `config`'s own values (those the space
    holds; the sampler draws the rest), so the sweep's best is never worse on the folds than the config it
    started from; those values, or {} for a study begun before."""
    if study.get_trials(deepcopy=False):
        return {}
    values = space.starting_values(config)
    if values:
        study.enqueue_trial(values, user_attrs={ORIGIN_ATTR: "the starting config"})
    return values


def sampler_seed(seed: int, slot: int, held: int) -> int:
    """A sampler seed of its own for each (config seed, slot, trials held) triple."""
    return int(numpy.random.SeedSequence([seed, slot, held]).generate_state(1)[0])


def run_one_trial(
    name: str,
    storage: str,
    series: SeriesTable,
    config: PipelineConfig,
    space: SearchSpace,
    options: SweepOptions,
    slot: int = 0,
    deadline: float | None = None,
) -> int | None:
    """Run one trial of the study (the `slot`-th of a sweep's); its number, or None when it would start
    after `deadline` (a `time.time()`). A trial that raises ends FAIL, its error as a user attribute, and
    does not fail the sweep. A sweep submits one of these per trial and its workers take them as they free,
    so none waits on another's longer trials and the study gets exactly the trials asked for."""
    if deadline is not None and time.time() >= deadline:
        return None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a failed trial: one line from the flow, no trace
    study = make_study(name, storage, space, config.train.seed, slot, config.train.epochs)
    numbers: list[int] = []
    study.optimize(
        lambda trial: run_trial(trial, series, config, space, options),
        n_trials=1,
        catch=TRIAL_ERRORS,
        callbacks=[lambda _, trial: numbers.append(trial.number)],
    )
    return numbers[0]
