"""The champion gate's evidence: the challenger's score beside the baselines' on some windows, and how to
score the champion on the very same windows. The score is `registry.gate_metric`'s, lower winning: the
scaled MSE, MASE, or M4's OWA against Naive2 (many series only). `single`: every test window of this run's
split; `backtest`: the mean over rolling folds (`bilstm.folds`), the challenger's config trained anew on
each, the champion re-scored on each fold's test windows as it is (not retrained), and the widest interval
level's mean coverage checked against nominal."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bilstm import backtest, pipeline
from bilstm.config import PipelineConfig
from bilstm.data import SeriesTable
from bilstm.evaluation import Evaluation
from bilstm.folds import Fold
from bilstm.forecaster import Forecaster
from bilstm.intervals import level_name

# registry.gate_metric -> its name in the promotion reason, and its key in the metrics after `test_`
METRICS = {"mse": ("MSE", "mse_scaled"), "mase": ("MASE", "mase"), "owa": ("OWA", "owa")}


@dataclass
class GateEvidence:
    measure: str  # the score, in the promotion reason: "test MSE", "mean MASE over 4 backtest folds"
    metric: str  # its key in the metrics: test_mse_scaled, test_mase, test_owa (champion_<key>: the champion)
    challenger: float
    naive: float
    seasonal_naive: float
    score: Callable[[Forecaster], float]  # another forecaster's score on the same windows (the champion's)
    coverage_miss: str | None = None  # why the challenger's intervals are off nominal, if they are


def single_split(evaluation: Evaluation, prepared: pipeline.ScaledSplit, gate_metric: str) -> GateEvidence:
    """Every test window of this run's split (of every series: the means over series; OWA from those means,
    against Naive2's), the champion scored with this run's scaler as the reference."""
    name, key = METRICS[gate_metric]
    metrics, metric = evaluation.metrics, f"test_{key}"
    many = prepared.series.series_column is not None and gate_metric != "owa"
    return GateEvidence(
        f"test {name}" + (" (mean over series)" if many else ""),
        metric,
        metrics[metric],
        metrics[f"naive_{metric}"],
        metrics[f"seasonal_naive_{metric}"],
        lambda champion: pipeline.evaluate_forecaster(champion, prepared).metrics[metric],
    )


def over_folds(
    means: dict[str, float], folds: list[Fold], series: SeriesTable, config: PipelineConfig
) -> GateEvidence:
    """The means over backtest folds (`bilstm.backtest.summarise`); the champion is scored on each fold's
    test windows in units scaled by that fold's train rows (MASE by their seasonal-naive error), and
    averaged the same way."""
    name, key = METRICS[config.registry.gate_metric]
    metric = f"test_{key}"

    def champion_score(champion: Forecaster) -> float:
        scores = [backtest.score_fold(champion, series, config, fold) for fold in folds]
        return statistics.fmean(e.metrics[metric] for e in scores)

    return GateEvidence(
        f"mean {name} over {len(folds)} backtest folds",
        metric,
        means[f"mean_{metric}"],
        means[f"mean_naive_{metric}"],
        means[f"mean_seasonal_naive_{metric}"],
        champion_score,
        coverage_miss(means, config.intervals.levels, config.registry.coverage_tolerance),
    )


def coverage_miss(means: dict[str, float], levels: list[float], tolerance: float) -> str | None:
    """Why the widest level's mean coverage over the folds is off nominal by more than `tolerance`, or None
    (None too without intervals: there is nothing to check)."""
    if not levels:
        return None
    level = levels[-1]
    coverage = means[f"mean_coverage_{level_name(level)}"]
    if abs(coverage - level / 100) <= tolerance:
        return None
    return (
        f"mean {level:g} % interval coverage over the folds {coverage:.3f} is not within"
        f" {tolerance:g} of {level / 100:g} (registry.coverage_tolerance)"
    )
