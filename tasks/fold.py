"""The task of one backtest fold, run wherever the task runner puts it (a Dask worker on another machine):
it trains and scores the fold and returns the outcome. It imports no MLflow, so a worker loads torch, Prefect
and the core only; the flow's process records the fold."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from bilstm import backtest
from bilstm.config import PipelineConfig
from bilstm.data import SeriesTable
from bilstm.folds import Fold
from bilstm.forecaster import Forecaster


@task(cache_policy=NO_CACHE, task_run_name="fold-{fold.index}")
def run_fold(
    series: SeriesTable, config: PipelineConfig, fold: Fold, trained: Forecaster | None = None
) -> backtest.FoldOutcome:
    """Train (or take `trained`, another fold's model) and score one fold."""
    return backtest.run_fold(series, config, fold, trained)
