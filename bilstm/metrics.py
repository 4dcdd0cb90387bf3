"""Forecast metrics and the baselines they are judged against, for the windows of one series or of many.

Arrays are (N windows, T horizon steps, k targets); window n belongs to series `series[n]` and its first
target is row `first_rows[n]` of a long table whose series s starts at row `first[s]`.
Per window: MSE/MAE on scaled values (the literature's numbers), MSE/MAE/sMAPE/MASE in original units and
the interval scores of bands; the baselines are persistence, seasonal naive and M4's Naive2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bilstm import m4
from bilstm.intervals import level_name


def smape(truth: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """(N,) M4's sMAPE of each window, in percent; a step where both are 0 counts as 0."""
    denominator = np.abs(truth) + np.abs(forecast)
    ratio = np.divide(np.abs(truth - forecast), denominator, out=np.zeros_like(truth), where=denominator > 0)
    return 200.0 * ratio.mean(axis=(1, 2))


def window_scores(truth, forecast, units: np.ndarray, mase_scales: np.ndarray) -> dict[str, np.ndarray]:
    """(N,) every metric of each window; `units` (N, k): original units per scaled unit of its series;
    `mase_scales` (N, k): its series' in-sample seasonal-naive MAE (MASE's denominator)."""
    error = truth - forecast
    scaled = error / units[:, None, :]
    return {
        "mse_scaled": (scaled**2).mean(axis=(1, 2)),
        "mae_scaled": np.abs(scaled).mean(axis=(1, 2)),
        "mse": (error**2).mean(axis=(1, 2)),
        "mae": np.abs(error).mean(axis=(1, 2)),
        "smape": smape(truth, forecast),
        "mase": (np.abs(error).mean(axis=1) / mase_scales).mean(axis=1),
    }


def interval_scores(truth, bands, units: np.ndarray, mase_scales: np.ndarray) -> dict[str, np.ndarray]:
    """(N,) coverage, width (original and scaled) and M4's MSIS of each window's band per level."""
    scores = {}
    for level, (lo, hi) in bands.items():
        name, alpha = level_name(level), 1 - level / 100
        penalty = (2 / alpha) * (np.maximum(lo - truth, 0) + np.maximum(truth - hi, 0))
        scores[f"coverage_{name}"] = ((truth >= lo) & (truth <= hi)).mean(axis=(1, 2))
        scores[f"width_{name}"] = (hi - lo).mean(axis=(1, 2))
        scores[f"width_{name}_scaled"] = ((hi - lo) / units[:, None, :]).mean(axis=(1, 2))
        scores[f"msis_{name}"] = ((hi - lo + penalty).mean(axis=1) / mase_scales).mean(axis=1)
    return scores


def by_horizon(truth, forecast, units: np.ndarray, bands) -> pd.DataFrame:
    """One row per horizon step: MSE/MAE on scaled and original values, and each band's coverage."""
    error = truth - forecast
    scaled = error / units[:, None, :]
    table = {
        "step": np.arange(1, truth.shape[1] + 1),
        "mse_scaled": (scaled**2).mean(axis=(0, 2)),
        "mae_scaled": np.abs(scaled).mean(axis=(0, 2)),
        "mse": (error**2).mean(axis=(0, 2)),
        "mae": np.abs(error).mean(axis=(0, 2)),
    }
    for level, (lo, hi) in bands.items():
        table[f"coverage_{level_name(level)}"] = ((truth >= lo) & (truth <= hi)).mean(axis=(0, 2))
    return pd.DataFrame(table)


def baselines(targets, first, insample_end, first_rows, series, horizon, period) -> dict[str, np.ndarray]:
    """Persistence, seasonal naive and Naive2 forecasts of every window: (N, T, k) each. `targets` (rows, k)
    original values; Naive2's seasonal indices come from each series' in-sample rows, those before
    `insample_end[s]`."""
    steps = np.arange(horizon)
    naive = np.repeat(targets[first_rows - 1][:, None, :], horizon, axis=1)
    seasonal_rows = first_rows[:, None] - period + (steps % period)[None, :]
    seasonal = targets[np.maximum(seasonal_rows, first[series][:, None])]
    indices = seasonal_indices(targets, first, insample_end, period)
    # position of each window's last input row and of its targets within the series' season
    last = first_rows - 1
    phase = (last - first[series]) % period
    future = (phase[:, None] + 1 + steps[None, :]) % period
    level = targets[last] / indices[series, phase]
    # level (N, k); indices[series][:, future] -> (N, T, k)
    naive2 = level[:, None, :] * indices[series[:, None], future]
    return {"naive": naive, "seasonal_naive": seasonal, "naive2": naive2}


def seasonal_indices(targets, first, insample_end, period) -> np.ndarray:
    """(S, period, k) M4's multiplicative indices of each series' in-sample, phase 0 at the series' first
    row; ones where the seasonality test finds no season, or where a value is not positive (a
    multiplicative season needs positive values)."""
    count, k = len(first), targets.shape[1]
    indices = np.ones((count, period, k))
    if period == 1:
        return indices
    for s in range(count):  # one decomposition per series, at evaluation only
        insample = targets[first[s] : insample_end[s]]
        for j in range(k):
            values = insample[:, j]
            if (values > 0).all() and m4.seasonality_detected(values, period):
                indices[s, :, j] = m4.seasonal_indices(values, period)
    return indices


def mase_scales(targets, first, insample_end, period) -> np.ndarray:
    """(S, k) each series' in-sample seasonal-naive MAE, MASE's denominator (1 where it is 0)."""
    count, k = len(first), targets.shape[1]
    scales = np.ones((count, k))
    for s in range(count):
        insample = targets[first[s] : insample_end[s]]
        for j in range(k):
            scales[s, j] = m4.mase_scale(insample[:, j], period)
    return np.where(scales > 0, scales, 1.0)


def naive_forecast(values: np.ndarray, first_target: int, windows: int, horizon: int) -> np.ndarray:
    """Persistence of one series: every step repeats the last observed value. `values` (rows, k) ->
    (N, T, k)."""
    last = values[first_target - 1 : first_target - 1 + windows]
    # last -> (N, k) -> (N, T, k)
    return np.repeat(last[:, None, :], horizon, axis=1)
