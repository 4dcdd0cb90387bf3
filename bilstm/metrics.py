"""Forecast metrics and the naive baselines they are judged against.

Arrays are (N windows, T horizon steps, k targets). Metrics: MSE/MAE on scaled values (the literature's
numbers) and MSE/MAE/RMSE/sMAPE/MASE in original units; the same per horizon step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_squared_error


def _flat(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def smape(truth: np.ndarray, pred: np.ndarray) -> float:
    """Symmetric MAPE in percent; a step where both are 0 counts as a perfect 0."""
    truth, pred = _flat(truth), _flat(pred)
    denominator = np.abs(truth) + np.abs(pred)
    ratio = np.divide(np.abs(truth - pred), denominator, out=np.zeros_like(truth), where=denominator > 0)
    return float(200.0 * ratio.mean())


def mase_scale(train_targets: np.ndarray, period: int) -> np.ndarray:
    """Per target: mean absolute error of the in-sample seasonal-naive forecast on (rows, k) train values."""
    lag = period if len(train_targets) > period else 1
    scale = np.abs(train_targets[lag:] - train_targets[:-lag]).mean(axis=0)
    return np.where(scale > 0, scale, 1.0)


def scaled_metrics(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {
        "mse": mean_squared_error(_flat(truth), _flat(pred)),
        "mae": mean_absolute_error(_flat(truth), _flat(pred)),
    }


def original_metrics(truth: np.ndarray, pred: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """MSE, MAE, RMSE, sMAPE and MASE (MAE per target over its `mase_scale`, averaged)."""
    mse = mean_squared_error(_flat(truth), _flat(pred))
    mae_per_target = np.abs(truth - pred).reshape(-1, truth.shape[-1]).mean(axis=0)
    return {
        "mse": mse,
        "mae": mean_absolute_error(_flat(truth), _flat(pred)),
        "rmse": float(np.sqrt(mse)),
        "smape": smape(truth, pred),
        "mase": float((mae_per_target / scale).mean()),
    }


def by_horizon(truth_scaled, pred_scaled, truth, pred) -> pd.DataFrame:
    """One row per horizon step: MSE/MAE on scaled and original values."""

    def per_step(a: np.ndarray, b: np.ndarray, power: int) -> np.ndarray:
        return (np.abs(a - b) ** power).mean(axis=(0, 2))

    steps = np.arange(1, truth.shape[1] + 1)
    return pd.DataFrame(
        {
            "step": steps,
            "mse_scaled": per_step(truth_scaled, pred_scaled, 2),
            "mae_scaled": per_step(truth_scaled, pred_scaled, 1),
            "mse": per_step(truth, pred, 2),
            "mae": per_step(truth, pred, 1),
        }
    )


def naive_forecast(values: np.ndarray, first_target: int, windows: int, horizon: int) -> np.ndarray:
    """Persistence: every step repeats the last observed value. `values` (rows, k) -> (N, T, k)."""
    last = values[first_target - 1 : first_target - 1 + windows]
    # last -> (N, k) -> (N, T, k)
    return np.repeat(last[:, None, :], horizon, axis=1)


def seasonal_naive_forecast(
    values: np.ndarray, first_target: int, windows: int, horizon: int, period: int
) -> np.ndarray:
    """Step h of the window whose first target is row t repeats row t - period + (h mod period)."""
    if first_target < period:
        raise ValueError(f"seasonal naive needs {period} rows before the first target, got {first_target}")
    starts = first_target + np.arange(windows)
    rows = starts[:, None] - period + (np.arange(horizon) % period)[None, :]
    # rows -> (N, T)
    return values[rows]
