"""Evaluation of a many-series forecaster: every metric per series and the mean over series.

On every test window of every series: MSE/MAE on each series' scaled values (the reference scalers: the
challenger's, so a champion is judged on the same footing), sMAPE and MASE in original units (MASE over
the series' in-sample seasonal-naive error), beside persistence, seasonal naive and M4's Naive2 on the same
windows, and M4's OWA against Naive2 where the frequency has a season. The in-sample of a series (for
MASE's scale and Naive2's seasonal indices) is its rows before its first test target, as in M4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bilstm import m4
from bilstm.evaluation import IncomparableModelError
from bilstm.intervals import level_name
from bilstm.panel_forecaster import PanelForecaster
from bilstm.panel_pipeline import ScaledPanel

BASELINES = ("naive", "seasonal_naive", "naive2")


@dataclass
class PanelEvaluation:
    metrics: dict[
        str, float
    ]  # the means over series: test_*, naive_test_*, seasonal_naive_test_*, naive2_test_*
    by_series: pd.DataFrame  # one row per series: its id, windows and every metric
    by_horizon: pd.DataFrame
    truth: np.ndarray  # (N, T, k) original units, windows series after series
    forecast: np.ndarray  # (N, T, k)
    series: np.ndarray  # (N,) the series number of each window
    first_rows: np.ndarray  # (N,) the panel row of each window's first target
    bands: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def evaluate_panel(forecaster: PanelForecaster, prepared: ScaledPanel) -> PanelEvaluation:
    """Score `forecaster` on every test window of `prepared` (its own scalers on its inputs; series it was
    not trained on are scaled by their train rows)."""
    panel, split = prepared.panel, prepared.split
    spec = forecaster.spec
    if spec.target_columns != panel.target_columns or spec.horizon != split.horizon:
        raise IncomparableModelError(
            f"the model forecasts {spec.target_columns} over {spec.horizon} steps; this test split needs"
            f" {panel.target_columns} over {split.horizon}"
        )
    missing = [c for c in spec.input_columns if c not in panel.input_columns]
    if missing:
        raise IncomparableModelError(f"the model needs columns {missing}")
    first_rows = split.starts("test") + split.lookback
    series = panel.row_series[first_rows]
    if (first_rows - spec.lookback < panel.offsets[series]).any():
        raise IncomparableModelError(
            f"the model reads {spec.lookback} rows, more than a series has before its test"
        )
    columns = [panel.input_columns.index(c) for c in spec.input_columns]
    values, row_series = panel.values[:, columns], panel.row_series
    train = split.train_mask(len(values))
    scalers = forecaster.scalers.with_unknown(panel.ids, values, row_series, train)
    scaled = scalers.transform(values, row_series, dtype=np.float32)
    views = np.lib.stride_tricks.sliding_window_view(scaled, spec.lookback, axis=0).transpose(0, 2, 1)
    inputs = views[first_rows - spec.lookback]
    pred = forecaster.forecast_inputs(inputs, series, scalers)
    targets = panel.frame[panel.target_columns].to_numpy(dtype=np.float64)
    steps = first_rows[:, None] + np.arange(split.horizon)[None, :]
    truth = targets[steps]
    # truth -> (N, T, k)
    period = spec.period
    forecasts = {"": pred, **_baselines(targets, panel.offsets, split, first_rows, series, period)}
    mase_scales = _mase_scales(targets, panel.offsets, split, period)
    reference = prepared.scalers.units(series, slice(-len(panel.target_columns), None))[:, None, :]
    per_window = {}
    for name, forecast in forecasts.items():
        prefix = f"{name}_" if name else ""
        error = truth - forecast
        per_window[f"{prefix}mse_scaled"] = ((error / reference) ** 2).mean(axis=(1, 2))
        per_window[f"{prefix}mae_scaled"] = np.abs(error / reference).mean(axis=(1, 2))
        per_window[f"{prefix}smape"] = _smape(truth, forecast)
        per_window[f"{prefix}mase"] = (np.abs(error).mean(axis=1) / mase_scales[series]).mean(axis=1)
    bands = forecaster.bands(pred, inputs, series, scalers)
    for level, (lo, hi) in bands.items():
        name = level_name(level)
        per_window[f"coverage_{name}"] = ((truth >= lo) & (truth <= hi)).mean(axis=(1, 2))
        per_window[f"width_{name}"] = (hi - lo).mean(axis=(1, 2))
        per_window[f"width_{name}_scaled"] = ((hi - lo) / reference).mean(axis=(1, 2))
        per_window[f"msis_{name}"] = (
            _interval_score(truth, lo, hi, level).mean(axis=1) / mase_scales[series]
        ).mean(axis=1)
    by_series = pd.DataFrame(per_window).groupby(series).mean()
    by_series.insert(0, "windows", np.bincount(series, minlength=len(panel.ids))[by_series.index])
    by_series.insert(0, panel.series_column, panel.ids[by_series.index])
    means = by_series.drop(columns=[panel.series_column, "windows"]).mean()
    metrics = {}
    for key, value in means.items():
        prefix = next(
            (f"{b}_" for b in sorted(BASELINES, key=len, reverse=True) if key.startswith(f"{b}_")), ""
        )
        metrics[f"{prefix}test_{key.removeprefix(prefix)}"] = float(value)
    if period > 1:
        for name in ("", "naive_", "seasonal_naive_"):
            metrics[f"{name}test_owa"] = m4.owa(
                metrics[f"{name}test_smape"],
                metrics[f"{name}test_mase"],
                metrics["naive2_test_smape"],
                metrics["naive2_test_mase"],
            )
    table = _by_horizon(truth, pred, reference)
    return PanelEvaluation(
        metrics, by_series.reset_index(drop=True), table, truth, pred, series, first_rows, bands
    )


def _baselines(targets, offsets, split, first_rows, series, period) -> dict[str, np.ndarray]:
    """Persistence, seasonal naive and Naive2 forecasts of every test window: (N, T, k) each."""
    horizon = split.horizon
    steps = np.arange(horizon)
    naive = np.repeat(targets[first_rows - 1][:, None, :], horizon, axis=1)
    seasonal_rows = first_rows[:, None] - period + (steps % period)[None, :]
    seasonal = targets[np.maximum(seasonal_rows, offsets[series][:, None])]
    indices = _seasonal_indices(targets, offsets, split, period)
    # position of each window's last input row and of its targets within the series' season
    last = first_rows - 1
    phase = (last - offsets[series]) % period
    future = (phase[:, None] + 1 + steps[None, :]) % period
    level = targets[last] / indices[series, phase]
    # level (N, k); indices[series][:, future] -> (N, T, k)
    naive2 = level[:, None, :] * indices[series[:, None], future]
    return {"naive": naive, "seasonal_naive": seasonal, "naive2": naive2}


def _seasonal_indices(targets, offsets, split, period) -> np.ndarray:
    """(S, period, k) M4's multiplicative indices of each series' in-sample (ones where no season is found),
    phase 0 at the series' first row."""
    count, k = len(offsets) - 1, targets.shape[1]
    indices = np.ones((count, period, k))
    if period == 1:
        return indices
    for s in range(count):  # one decomposition per series, at evaluation only
        insample = targets[offsets[s] : split.val_end[s]]
        for j in range(k):
            if m4.seasonality_detected(insample[:, j], period):
                indices[s, :, j] = m4.seasonal_indices(insample[:, j], period)
    return indices


def _mase_scales(targets, offsets, split, period) -> np.ndarray:
    """(S, k) each series' in-sample seasonal-naive MAE, MASE's denominator."""
    count, k = len(offsets) - 1, targets.shape[1]
    scales = np.ones((count, k))
    for s in range(count):
        insample = targets[offsets[s] : split.val_end[s]]
        for j in range(k):
            scales[s, j] = m4.mase_scale(insample[:, j], period)
    return np.where(scales > 0, scales, 1.0)


def _smape(truth: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """(N,) M4's sMAPE of each window, in percent; a step where both are 0 counts as 0."""
    denominator = np.abs(truth) + np.abs(forecast)
    ratio = np.divide(np.abs(truth - forecast), denominator, out=np.zeros_like(truth), where=denominator > 0)
    return 200.0 * ratio.mean(axis=(1, 2))


def _interval_score(truth, lo, hi, level) -> np.ndarray:
    alpha = 1 - level / 100
    return (hi - lo) + (2 / alpha) * (np.maximum(lo - truth, 0) + np.maximum(truth - hi, 0))


def _by_horizon(truth: np.ndarray, pred: np.ndarray, reference: np.ndarray) -> pd.DataFrame:
    error = truth - pred
    return pd.DataFrame(
        {
            "step": np.arange(1, truth.shape[1] + 1),
            "mse_scaled": ((error / reference) ** 2).mean(axis=(0, 2)),
            "mae_scaled": np.abs(error / reference).mean(axis=(0, 2)),
            "mse": (error**2).mean(axis=(0, 2)),
            "mae": np.abs(error).mean(axis=(0, 2)),
        }
    )
