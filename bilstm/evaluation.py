"""Evaluation on every test window: the forecaster and the naive baselines, scaled and original units.

Where the forecaster has intervals, their coverage, width and MSIS per level (`bilstm.intervals`) too.
Scaled metrics use a REFERENCE scaler (the challenger's, fitted on the current train rows), so a champion
trained on older data is judged on the same footing as the model it competes with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bilstm import metrics
from bilstm.forecaster import Forecaster
from bilstm.intervals import interval_scores
from bilstm.scaling import Scaler
from bilstm.split import Split


@dataclass
class Evaluation:
    metrics: dict[str, float]  # test_*, naive_test_*, seasonal_naive_test_*
    by_horizon: pd.DataFrame
    truth: np.ndarray  # (N, T, k) original units
    forecast: np.ndarray  # (N, T, k) original units
    times: pd.DatetimeIndex  # every test target row: window i covers times[i : i + T]
    # level: (lo, hi), each like forecast; empty without intervals
    bands: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class IncomparableModelError(ValueError):
    """Two forecasters do not forecast the same thing (targets, horizon or columns differ). Not a
    `BadInputError`: the promotion gate catches it and keeps the champion; no input of the user's is wrong."""


def _score(prefix, truth, pred, reference: Scaler, k: int, scale: np.ndarray) -> dict[str, float]:
    cols = slice(-k, None)
    scaled = metrics.scaled_metrics(reference.transform(truth, cols), reference.transform(pred, cols))
    original = metrics.original_metrics(truth, pred, scale)
    result = {f"{prefix}test_{name}_scaled": value for name, value in scaled.items()}
    result.update({f"{prefix}test_{name}": value for name, value in original.items()})
    return result


def evaluate(
    forecaster: Forecaster, frame: pd.DataFrame, split: Split, reference: Scaler, targets: list[str]
) -> Evaluation:
    """Score `forecaster` on every test window of `frame` (original units, all columns of the series).

    Args:
        forecaster: the model to score; it reads its own columns and its own lookback before each target.
        frame: the whole validated series, indexed by time.
        split: the row borders; targets of the test windows are rows [split.val_end, split.test_end).
        reference: scaler whose last len(targets) columns are the targets, for the scaled metrics.
        targets: the target columns that must match the forecaster's.
    """
    spec = forecaster.spec
    if spec.target_columns != targets or spec.horizon > split.test_end - split.val_end:
        raise IncomparableModelError(
            f"the model forecasts {spec.target_columns} over {spec.horizon} steps; this test split needs"
            f" {targets} over at most {split.test_end - split.val_end}"
        )
    if forecaster.cycle is not None and (spec.timezone is None) != (frame.index.tz is None):
        raise IncomparableModelError(
            "its cycle was fitted on stamps with UTC offsets and this series has none, or the reverse"
        )
    missing = [c for c in spec.input_columns if c not in frame.columns]
    if missing or split.val_end < spec.lookback:
        raise IncomparableModelError(f"the model needs columns {missing} or more rows before the test split")
    first, k = split.val_end, len(targets)
    rows = slice(first - spec.lookback, split.test_end)
    values, times = frame[spec.input_columns].to_numpy()[rows], frame.index[rows]
    pred = forecaster.forecast_windows(values, times)
    windows = len(pred)
    target_values = frame[targets].to_numpy(dtype=np.float64)
    truth = np.lib.stride_tricks.sliding_window_view(
        target_values[first : split.test_end], spec.horizon, axis=0
    )
    truth = truth.transpose(0, 2, 1)
    # truth -> (N, T, k)
    period = spec.period
    scale = metrics.mase_scale(target_values[: split.train_end], period)
    naive = metrics.naive_forecast(target_values, first, windows, spec.horizon)
    seasonal = metrics.seasonal_naive_forecast(target_values, first, windows, spec.horizon, period)
    scores = _score("", truth, pred, reference, k, scale)
    scores |= _score("naive_", truth, naive, reference, k, scale)
    scores |= _score("seasonal_naive_", truth, seasonal, reference, k, scale)
    cols = slice(-k, None)
    table = metrics.by_horizon(reference.transform(truth, cols), reference.transform(pred, cols), truth, pred)
    bands = {}
    if forecaster.intervals is not None:  # only then are the windows' network inputs needed
        bands = forecaster.bands(pred, forecaster.input_windows(values, times)[:windows])
        interval_metrics, per_step = interval_scores(truth, bands, reference.units(cols), scale)
        scores |= interval_metrics
        table = table.assign(**per_step)
    return Evaluation(scores, table, truth, pred, frame.index[first : split.test_end], bands)


# what the model must beat on the test windows: (baseline, its prefix, the measure, its key, decimals)
_SHORTFALLS = (
    ("persistence", "naive_", "MSE", "mse_scaled", 4),
    ("seasonal naive", "seasonal_naive_", "MSE", "mse_scaled", 4),
    ("seasonal naive", "seasonal_naive_", "sMAPE", "smape", 2),
    ("seasonal naive", "seasonal_naive_", "MASE", "mase", 4),
)


def baseline_shortfalls(metrics: dict[str, float], measure: str = "test {}") -> list[str]:
    """One line per naive baseline the model does not beat on the test windows: persistence and seasonal
    naive on the scaled MSE, seasonal naive on sMAPE and MASE where they are in `metrics`. `measure` words
    the measure's name ("mean test {} over the folds")."""
    lines = []
    for baseline, prefix, name, key, decimals in _SHORTFALLS:
        if f"test_{key}" not in metrics or f"{prefix}test_{key}" not in metrics:
            continue
        model, other = metrics[f"test_{key}"], metrics[f"{prefix}test_{key}"]
        if not model < other:
            shown = measure.format(name)
            lines.append(
                f"the model does not beat {baseline}: {shown} {model:.{decimals}f} vs {other:.{decimals}f}"
            )
    return lines


def promotion_decision(
    challenger: float,
    naive: float,
    seasonal_naive: float,
    champion: float | None,
    measure: str = "test MSE",
    coverage_miss: str | None = None,
) -> tuple[bool, str]:
    """Promote only a model that beats persistence, seasonal naive AND the current champion, all scored on
    the same windows with the same measure, lower winning (`measure` names it: the test MSE or MASE, or a
    mean over backtest folds), and whose intervals are not off nominal (`coverage_miss` says how they are)."""
    for baseline, score in (("persistence", naive), ("seasonal naive", seasonal_naive)):
        if not challenger < score:
            return False, f"{measure} {challenger:.4f} does not beat {baseline} {score:.4f}"
    if champion is not None and not challenger < champion:
        return False, f"{measure} {challenger:.4f} does not beat the champion's {champion:.4f}"
    if coverage_miss is not None:
        return False, coverage_miss
    against = "no champion yet" if champion is None else f"champion {champion:.4f}"
    return True, (
        f"{measure} {challenger:.4f} beats persistence {naive:.4f}, seasonal naive {seasonal_naive:.4f}"
        f" and {against}"
    )
