"""The backtest's tasks in the flow's process: plan the folds, claim the job (taking over the folds a killed
earlier run of it finished), and record them: a child run each as it ends, the table, plot and summary on
the parent run, and Prefect artifacts. The folds themselves run in `tasks.fold`."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import mlflow
import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from bilstm import backtest
from bilstm.config import PipelineConfig
from bilstm.data import SeriesTable
from bilstm.errors import BadInputError
from bilstm.folds import BacktestOptions, Fold, plan_folds
from bilstm.job import Job
from bilstm.url_masking import masked_urls
from tasks import checkpoints
from tasks.dask_scheduler import SchedulerLostError
from tasks.stale_runs import claim_job, end_killed, job_key
from tracking import backtests
from tracking.backtests import RecordedFold

T = TypeVar("T")


class FoldsFailedError(RuntimeError):
    """One or more folds failed; the message names each with its error. The others' child runs stay."""


class ReusedModelFailedError(RuntimeError):
    """A fold that reuses another fold's model cannot run: that fold failed."""


@task(cache_policy=NO_CACHE)
def plan_backtest(
    series: SeriesTable, config: PipelineConfig, options: BacktestOptions, folds_option: str = "--folds"
) -> tuple[SeriesTable, list[Fold], list[str]]:
    """The folds over the newest rows of every series; logged as `backtest.*` params, one line each in the
    flow's log. Returns the series they run on, the folds, and the warnings (series left out)."""
    (series, folds), notes = with_notes(plan_folds, series, config, options, folds_option)
    mlflow.log_params({f"backtest.{k}": v for k, v in options.model_dump().items()})
    times, logger = series.shown_times, get_run_logger()
    for fold in folds:
        test_start, test_end = backtest.held_out_span(fold.split, times)
        model = "trains its model" if fold.retrains else f"uses fold {fold.trained_by}'s model"
        logger.info(
            "Fold %d: %d train rows, validation to %s, test %s .. %s; %s",
            fold.index,
            backtest.fold_rows(fold.split)[0],
            times[fold.split.val_end - 1].max(),
            test_start,
            test_end,
            model,
        )
    return series, folds, notes


def with_notes(plan: Callable[..., T], *args: Any) -> tuple[T, list[str]]:
    """`plan(*args)` and what it warned of (the series it left out), each logged as a warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        planned = plan(*args)
    notes = [masked_urls(str(w.message)) for w in caught if issubclass(w.category, UserWarning)]
    for note in notes:
        get_run_logger().warning(note)
    return planned, notes


@task(cache_policy=NO_CACHE)
def claim_backtest(
    parent: mlflow.ActiveRun,
    series: SeriesTable,
    config: PipelineConfig,
    options: BacktestOptions,
    folds: list[Fold],
) -> tuple[checkpoints.Claim, dict[int, RecordedFold], list[str]]:
    """This backtest's claim on its job (data set, columns, horizon, frequency). A killed earlier run of the
    job is ended (MLflow runs KILLED, Prefect runs CRASHED) and the folds it finished are taken over, their
    runs nested under this one, where its config, data and fold plan are this one's; else a warning says
    this run starts over, and why. Returns the claim (released when the backtest ends), the folds taken
    over and the warnings."""
    job = dataclasses.replace(Job.for_run(series, config), sample=None)
    digests = {
        "config": job_key(config.model_dump_json()),
        "data": series.digest(),
        "fold plan": job_key(options.model_dump_json(include={"folds", "step", "refit"})),
    }
    owner = {"run_id": parent.info.run_id, "flow_run_id": str(flow_run.id), **digests}
    claim = claim_job("backtests", job_key(repr(job)), owner)
    previous, logger = claim.previous_owner or {}, get_run_logger()
    killed = end_killed(previous, resumed_by=parent.info.run_id)
    if killed is None:
        return claim, {}, []
    differ = [name for name, digest in digests.items() if previous.get(name) != digest]
    if differ:
        warning = (
            f"MLflow run {killed} of a killed backtest of this job marked KILLED; starting over: its"
            f" {' and '.join(differ)} differed"
        )
        logger.warning(warning)
        return claim, {}, [warning]
    finished = backtests.finished_folds(killed)
    usable = backtest.reusable(folds, set(finished))
    recorded = {fold.index: RecordedFold(fold, *finished[fold.index]) for fold in usable}
    for fold in recorded.values():
        backtests.adopt_fold(parent, fold, killed)
    shown = ", ".join(str(index) for index in recorded) or "none"
    logger.info(
        "MLflow run %s of a killed backtest of this job marked KILLED; reusing folds %s", killed, shown
    )
    return claim, recorded, []


def record_fold(parent: mlflow.ActiveRun, series: SeriesTable, fold: Fold, outcome) -> None:
    """The fold's child run, as soon as the fold ends (FINISHED with its table row, or FAILED with its
    error), so a re-run of a killed backtest finds the folds that finished. Not a task: called as they end."""
    if isinstance(outcome, BaseException):
        backtests.log_failed_fold(parent, fold, f"{type(outcome).__name__}: {outcome}")
    else:
        backtests.log_fold(parent, outcome, backtest.fold_row(outcome, series))


@task(cache_policy=NO_CACHE)
def record_folds(
    series: SeriesTable,
    outcomes: list[backtest.FoldOutcome | RecordedFold | BaseException],
    folds: list[Fold],
) -> tuple[pd.DataFrame, dict[str, float]]:
    """If every fold succeeded (their child runs are recorded already), the table, plot and summary on the
    parent run and as Prefect artifacts; else `FoldsFailedError` naming the folds (the folds' bad input
    stays a `BadInputError`, a lost Dask scheduler one `SchedulerLostError`)."""
    failed = [(fold, o) for fold, o in zip(folds, outcomes, strict=True) if isinstance(o, BaseException)]
    lost = [error for _, error in failed if isinstance(error, SchedulerLostError)]
    if lost:  # every fold left failed with it: one line says it all
        raise lost[0]
    if failed:
        lines = "; ".join(f"fold {fold.index} failed: {' '.join(str(e).split())}" for fold, e in failed)
        causes = [error for _, error in failed if not isinstance(error, ReusedModelFailedError)]
        kind = BadInputError if all(isinstance(e, BadInputError) for e in causes) else FoldsFailedError
        raise kind(lines)
    rows = [o.row if isinstance(o, RecordedFold) else backtest.fold_row(o, series) for o in outcomes]
    table = pd.DataFrame(rows)
    summary = backtest.summarise(table.to_dict("records"))
    backtests.log_summary(table, summary)
    create_table_artifact(
        key="backtest-folds",
        table=table.round(4).to_dict("records"),
        description="Test metrics per fold (scaled by each fold's train rows), beside the baselines",
    )
    return table, summary


@task(cache_policy=NO_CACHE)
def publish_backtest_report(summary: dict) -> None:
    """A markdown artifact: the means over the folds beside the baselines, the spread, the MLflow link."""
    metrics = summary["metrics"]
    lines = [
        f"# Backtest `{summary['run_name']}`: {len(summary['folds'])} folds",
        "",
        "| forecaster | mean test MSE (scaled) |",
        "|---|---|",
        f"| model | {metrics['mean_test_mse_scaled']:.4f} ± {metrics['std_test_mse_scaled']:.4f} |",
        f"| persistence | {metrics['mean_naive_test_mse_scaled']:.4f} |",
        f"| seasonal naive | {metrics['mean_seasonal_naive_test_mse_scaled']:.4f} |",
        "",
    ]
    coverage = [k for k in metrics if k.startswith("mean_coverage_")]
    if coverage:
        shown = ", ".join(f"{k.removeprefix('mean_coverage_')} %: {metrics[k]:.3f}" for k in coverage)
        lines += [f"Mean interval coverage: {shown}.", ""]
    lines.append(f"{summary['wall_seconds']:.1f} s. [MLflow run]({summary['run_url']})")
    create_markdown_artifact(key="backtest-report", markdown="\n".join(lines))
