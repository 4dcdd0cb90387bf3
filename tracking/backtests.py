"""A backtest in MLflow: one child run per fold nested under the backtest's run (`mlflow.parentRunId`), with
the fold's loss curves, metrics and per-horizon table, or FAILED with the fold's error; and on the parent
run the fold table, its plot, and the mean and spread over the folds. A fold's run holds its table row, so
the re-run of a killed backtest takes over the folds that finished (`finished_folds`, `adopt_fold`).

The runs are written from the flow's process, after each fold returns, so the machines the folds ran on
need no access to the tracking store.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from bilstm import plots
from bilstm.backtest import FoldOutcome, fold_rows
from bilstm.folds import Fold

_PARENT_TAG = "mlflow.parentRunId"
_ROW_TAG = "backtest.row"


@dataclass
class RecordedFold:
    """A fold that a killed earlier run of the same backtest finished: its nested run and its table row."""

    fold: Fold
    run_id: str
    row: dict


def _child_run(parent: mlflow.ActiveRun, fold: Fold) -> str:
    client = MlflowClient()
    run = client.create_run(
        parent.info.experiment_id,
        run_name=f"{parent.info.run_name} fold {fold.index}",
        tags={_PARENT_TAG: parent.info.run_id, "backtest.fold": str(fold.index)},
    )
    train_rows, val_rows, test_rows = fold_rows(fold.split)  # summed over the series
    params = {
        "fold": fold.index,
        "trained_by_fold": fold.trained_by,
        "train_rows": train_rows,
        "val_rows": val_rows,
        "test_rows": test_rows,
    }
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    return run.info.run_id


def log_fold(parent: mlflow.ActiveRun, outcome: FoldOutcome, row: dict) -> str:
    """The fold's child run, FINISHED: its test metrics, the per-epoch losses and their plot where the fold
    trained a model, `metrics_by_horizon.csv`, the worker that ran it and its table `row` (JSON) as tags.
    Returns the run's id."""
    client = MlflowClient()
    evaluation, training_log = outcome.evaluation, outcome.training_log
    run_id = _child_run(parent, outcome.fold)
    client.set_tag(run_id, "backtest.worker", outcome.worker)
    client.set_tag(run_id, _ROW_TAG, json.dumps(row, default=float))
    now = int(time.time() * 1000)  # one timestamp for the lot; steps carry the epochs
    metrics = [Metric(k, float(v), now, 0) for k, v in evaluation.metrics.items()]
    if training_log is not None:
        for name in ("train_loss", "val_loss", "learning_rate"):
            values = getattr(training_log, name)
            metrics += [Metric(name, float(v), now, epoch) for epoch, v in enumerate(values, start=1)]
        metrics += [
            Metric("val_loss", float(training_log.start_val_loss), now, 0),
            Metric("best_epoch", float(training_log.best_epoch), now, 0),
            Metric("train_seconds", float(training_log.train_seconds), now, 0),
        ]
        client.log_figure(run_id, plots.loss_curve(training_log), "plots/loss_curve.png")
    for start in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics a batch
        client.log_batch(run_id, metrics=metrics[start : start + 1000])
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "metrics_by_horizon.csv"
        evaluation.by_horizon.to_csv(table, index=False)
        client.log_artifact(run_id, str(table))
    client.set_terminated(run_id, "FINISHED")
    return run_id


def log_failed_fold(parent: mlflow.ActiveRun, fold: Fold, error: str) -> str:
    """The child run of a fold that failed, FAILED with its error as a tag; returns the run's id."""
    client = MlflowClient()
    run_id = _child_run(parent, fold)
    client.set_tag(run_id, "error", error[:5000])
    client.set_terminated(run_id, "FAILED")
    return run_id


def finished_folds(parent_id: str) -> dict[int, tuple[str, dict]]:
    """The FINISHED fold runs nested under backtest run `parent_id`: fold index -> (run id, table row)."""
    client = MlflowClient()
    experiment = client.get_run(parent_id).info.experiment_id
    children = client.search_runs(
        [experiment], f"tags.`{_PARENT_TAG}` = '{parent_id}' and attributes.status = 'FINISHED'"
    )
    return {
        int(run.data.tags["backtest.fold"]): (run.info.run_id, json.loads(run.data.tags[_ROW_TAG]))
        for run in children
        if _ROW_TAG in run.data.tags
    }


def adopt_fold(parent: mlflow.ActiveRun, recorded: RecordedFold, killed_id: str) -> None:
    """Nest a finished fold's run of the killed backtest `killed_id` under this backtest's run instead."""
    client = MlflowClient()
    client.set_tag(recorded.run_id, _PARENT_TAG, parent.info.run_id)
    client.set_tag(recorded.run_id, "backtest.reused_from_run", killed_id)


def log_summary(table: pd.DataFrame, summary: dict[str, float]) -> None:
    """On the active (parent) run: `backtest/folds.csv`, `backtest/folds.png` and the summary metrics."""
    mlflow.log_metrics(summary)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "folds.csv"
        table.to_csv(path, index=False)
        mlflow.log_artifact(str(path), "backtest")
    mlflow.log_figure(plots.backtest_plot(table), "backtest/folds.png")
