"""The backtest's tasks in the flow's process: plan the folds, and record them: a child run each, the table,
plot and summary on the parent run, and Prefect artifacts. The folds themselves run in `tasks.fold`."""

from __future__ import annotations

import mlflow
import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from bilstm import backtest
from bilstm.config import PipelineConfig
from bilstm.data import SeriesTable
from bilstm.errors import BadInputError
from bilstm.folds import BacktestOptions, Fold, plan_folds
from tracking import backtests


class FoldsFailedError(RuntimeError):
    """One or more folds failed; the message names each with its error. The others' child runs stay."""


class ReusedModelFailedError(RuntimeError):
    """A fold that reuses another fold's model cannot run: that fold failed."""


@task(cache_policy=NO_CACHE)
def plan_backtest(
    series: SeriesTable, config: PipelineConfig, options: BacktestOptions, folds_option: str = "--folds"
) -> list[Fold]:
    """The folds over the newest rows; logged as `backtest.*` params, one line each in the flow's log."""
    folds = plan_folds(series, config, options, folds_option)
    mlflow.log_params({f"backtest.{k}": v for k, v in options.model_dump().items()})
    times, logger = series.shown_times, get_run_logger()
    for fold in folds:
        train_end, val_end, test_end = fold.split.borders()
        model = "trains its model" if fold.retrains else f"uses fold {fold.trained_by}'s model"
        logger.info(
            "Fold %d: train rows 1-%d, validation to %s, test %s .. %s; %s",
            fold.index,
            train_end,
            times[val_end - 1],
            times[val_end],
            times[test_end - 1],
            model,
        )
    return folds


@task(cache_policy=NO_CACHE)
def record_folds(
    parent: mlflow.ActiveRun,
    series: SeriesTable,
    outcomes: list[backtest.FoldOutcome | BaseException],
    folds: list[Fold],
) -> tuple[pd.DataFrame, dict[str, float]]:
    """A child run per fold (FAILED for a fold that failed), then, if every fold succeeded, the table, plot
    and summary on the parent run and as Prefect artifacts; else `FoldsFailedError` naming the folds (the
    folds' bad input stays a `BadInputError`)."""
    failed = []
    for fold, outcome in zip(folds, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            backtests.log_failed_fold(parent, fold, f"{type(outcome).__name__}: {outcome}")
            failed.append((fold, outcome))
        else:
            backtests.log_fold(parent, outcome)
    if failed:
        lines = "; ".join(f"fold {fold.index} failed: {' '.join(str(e).split())}" for fold, e in failed)
        causes = [error for _, error in failed if not isinstance(error, ReusedModelFailedError)]
        kind = BadInputError if all(isinstance(e, BadInputError) for e in causes) else FoldsFailedError
        raise kind(lines)
    table = pd.DataFrame([backtest.fold_row(outcome, series) for outcome in outcomes])
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
