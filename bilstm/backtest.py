"""One backtest fold trained or scored by the training flow's own steps, and the folds' table and summary.

`bilstm.folds` says where each fold's rows lie and which fold's model scores it; here a fold that retrains
is split, scaled, windowed, trained (early stopping on its validation block) and calibrated on its own rows,
and every fold is scored on its test windows in units scaled by its own train rows.
"""

from __future__ import annotations

import math
import os
import socket
import statistics
import time
from dataclasses import dataclass, field

import pandas as pd

from bilstm import pipeline
from bilstm.config import PipelineConfig
from bilstm.data import SeriesTable
from bilstm.evaluation import Evaluation
from bilstm.folds import Fold
from bilstm.forecaster import Forecaster
from bilstm.split import Split
from bilstm.training import TrainingLog

# the metrics of a fold (the means over its series), in `--json` and in backtest/folds.csv (MASE for
# `registry.gate_metric: mase`); OWA only where the data has a seasonal period
FOLD_METRICS = (
    "test_mse_scaled",
    "naive_test_mse_scaled",
    "seasonal_naive_test_mse_scaled",
    "test_mae_scaled",
    "test_mase",
    "naive_test_mase",
    "seasonal_naive_test_mase",
    "test_smape",
    "naive_test_smape",
    "seasonal_naive_test_smape",
    "test_owa",
    "naive_test_owa",
    "seasonal_naive_test_owa",
)


@dataclass
class FoldOutcome:
    """What a fold returns: the model it trained (None where it reused another fold's), its training log
    (likewise), its evaluation, its wall seconds, and the process that ran it (host:pid)."""

    fold: Fold
    forecaster: Forecaster | None
    training_log: TrainingLog | None
    evaluation: Evaluation
    seconds: float
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def run_fold(
    series: SeriesTable, config: PipelineConfig, fold: Fold, trained: Forecaster | None = None
) -> FoldOutcome:
    """Train the fold's model (or take `trained`, another fold's, where the fold does not retrain) and
    score it on the fold's test windows; the fold's rows are split and scaled once for both."""
    if not fold.retrains and trained is None:
        raise ValueError(f"fold {fold.index} reuses fold {fold.trained_by}'s model, which was not given")
    started = time.perf_counter()
    prepared = pipeline.split_and_scale(series, config, fold.split)
    forecaster, training_log = _fit(prepared, config) if fold.retrains else (trained, None)
    evaluation = pipeline.evaluate_forecaster(forecaster, prepared)
    kept = forecaster if fold.retrains else None  # a reused model travels back once, from its own fold
    return FoldOutcome(fold, kept, training_log, evaluation, time.perf_counter() - started)


def train_fold(series: SeriesTable, config: PipelineConfig, fold: Fold) -> tuple[Forecaster, TrainingLog]:
    """Scale on the fold's train rows, train on its train windows with early stopping on its validation
    windows, calibrate its intervals there: the single split's steps on the fold's rows."""
    return _fit(pipeline.split_and_scale(series, config, fold.split), config)


def _fit(prepared: pipeline.ScaledSplit, config: PipelineConfig) -> tuple[Forecaster, TrainingLog]:
    forecaster = pipeline.new_forecaster(prepared, config)
    training_log = pipeline.fit_forecaster(
        forecaster, pipeline.make_train_windows(prepared, config), config, progress=False
    )
    return forecaster, training_log


def score_fold(forecaster: Forecaster, series: SeriesTable, config: PipelineConfig, fold: Fold) -> Evaluation:
    """Every test window of the fold, scored in units scaled by the fold's own train rows (the reference
    whichever fold's model forecasts), beside persistence and seasonal naive on the same windows."""
    prepared = pipeline.split_and_scale(series, config, fold.split)
    return pipeline.evaluate_forecaster(forecaster, prepared)


def fold_row(outcome: FoldOutcome, series: SeriesTable) -> dict:
    """A fold's line of the table: its train rows and test span (over its series), the metrics (the means
    over series), the coverage of each interval level, and the process that ran it."""
    fold, evaluation = outcome.fold, outcome.evaluation
    test_start, test_end = held_out_span(fold.split, series.shown_times)
    row = {
        "fold": fold.index,
        "trained_by": fold.trained_by,
        "train_rows": fold_rows(fold.split)[0],
        "test_start": str(test_start),
        "test_end": str(test_end),
        "windows": len(evaluation.forecast),
    }
    row |= {name: evaluation.metrics[name] for name in FOLD_METRICS if name in evaluation.metrics}
    row |= {
        name.removeprefix("test_"): value
        for name, value in evaluation.metrics.items()
        if name.startswith("test_coverage_")
    }
    return row | {"seconds": round(outcome.seconds, 3), "worker": outcome.worker}


def fold_rows(split: Split) -> tuple[int, int, int]:
    """The train, validation and test rows of a fold, summed over its series."""
    train_end, val_end, test_end = split.train_end, split.val_end, split.test_end
    return (
        int((train_end - split.first).sum()),
        int((val_end - train_end).sum()),
        int((test_end - val_end).sum()),
    )


def held_out_span(split: Split, times: pd.DatetimeIndex) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and the last test stamp of a fold, over its series."""
    return times[split.val_end].min(), times[split.test_end - 1].max()


def reusable(folds: list[Fold], finished: set[int]) -> list[Fold]:
    """The `finished` folds an earlier run left that a re-run can take over: a fold that trained a model
    only with every fold using that model (its model is not kept, and those folds would need it)."""
    return [
        fold
        for fold in folds
        if fold.index in finished
        and (not fold.retrains or all(g.index in finished for g in folds if g.trained_by == fold.index))
    ]


def summarise(rows: list[dict]) -> dict[str, float]:
    """Mean of every metric over the folds, and the spread (sample standard deviation; 0 for one fold) of
    the model's scaled MSE."""
    table = pd.DataFrame(rows)
    names = [c for c in table.columns if c in FOLD_METRICS or c.startswith("coverage_")]
    summary = {f"mean_{name}": float(table[name].mean()) for name in names}
    mse = table["test_mse_scaled"].tolist()
    summary["std_test_mse_scaled"] = statistics.stdev(mse) if len(mse) > 1 else 0.0
    return {k: v for k, v in summary.items() if not math.isnan(v)}
