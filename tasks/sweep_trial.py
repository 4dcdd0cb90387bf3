"""A sweep's trial as a task, run wherever the task runner puts it (a Dask worker, on another machine);
light on imports (no MLflow, no plotting), so a local cluster's workers preload it while they start."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from bilstm import sweep
from bilstm.config import PipelineConfig
from bilstm.data import SeriesTable
from bilstm.sweep_space import SearchSpace


@task(cache_policy=NO_CACHE, task_run_name="trial-slot-{slot}")
def run_trial_task(
    name: str,
    storage: str,
    series: SeriesTable,
    config: PipelineConfig,
    space: SearchSpace,
    options: sweep.SweepOptions,
    slot: int = 0,
    deadline: float | None = None,
) -> int | None:
    """One trial of the study; its number, or None when the sweep's time budget ran out first."""
    return sweep.run_one_trial(name, storage, series, config, space, options, slot, deadline)
