"""The champion gate's evidence: the challenger's scaled MSE beside the baselines' on some windows, and how
to score the champion on the very same windows. `single`: every test window of this run's split;
`backtest`: the mean over rolling folds (`bilstm.folds`), the challenger's config trained anew on each, the
champion re-scored on each fold's test windows as it is (not retrained), and the widest interval level's
mean coverage checked against nominal."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bilstm import backtest, pipeline
from bilstm.config import PipelineConfig
from bilstm.data import Series
from bilstm.evaluation import Evaluation
from bilstm.folds import Fold
from bilstm.forecaster import Forecaster
from bilstm.intervals import level_name
from bilstm.panel_evaluation import PanelEvaluation, evaluate_panel
from bilstm.panel_pipeline import ScaledPanel


@dataclass
class GateEvidence:
    measure: str  # what the MSEs are, in the promotion reason: "test MSE", "mean MSE over 4 backtest folds"
    mse: float
    naive_mse: float
    seasonal_naive_mse: float
    score: Callable[[Forecaster], float]  # another forecaster's MSE on the same windows (the champion's)
    coverage_miss: str | None = None  # why the challenger's intervals are off nominal, if they are


def single_split(evaluation: Evaluation, prepared: pipeline.ScaledSplit) -> GateEvidence:
    """Every test window of this run's split, the champion scored with this run's scaler."""
    metrics = evaluation.metrics
    return GateEvidence(
        "test MSE",
        metrics["test_mse_scaled"],
        metrics["naive_test_mse_scaled"],
        metrics["seasonal_naive_test_mse_scaled"],
        lambda champion: pipeline.evaluate_forecaster(champion, prepared).metrics["test_mse_scaled"],
    )


def panel_split(evaluation: PanelEvaluation, prepared: ScaledPanel) -> GateEvidence:
    """Every test window of every series (the mean over series), the champion scored with this run's
    scalers as the reference."""
    metrics = evaluation.metrics
    return GateEvidence(
        "test MSE (mean over series)",
        metrics["test_mse_scaled"],
        metrics["naive_test_mse_scaled"],
        metrics["seasonal_naive_test_mse_scaled"],
        lambda champion: evaluate_panel(champion, prepared).metrics["test_mse_scaled"],
    )


def over_folds(
    means: dict[str, float], folds: list[Fold], series: Series, config: PipelineConfig
) -> GateEvidence:
    """The means over backtest folds (`bilstm.backtest.summarise`); the champion is scored on each fold's
    test windows in units scaled by that fold's train rows, and averaged the same way."""

    def champion_mse(champion: Forecaster) -> float:
        scores = [backtest.score_fold(champion, series, config, fold) for fold in folds]
        return statistics.fmean(e.metrics["test_mse_scaled"] for e in scores)

    return GateEvidence(
        f"mean MSE over {len(folds)} backtest folds",
        means["mean_test_mse_scaled"],
        means["mean_naive_test_mse_scaled"],
        means["mean_seasonal_naive_test_mse_scaled"],
        champion_mse,
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
