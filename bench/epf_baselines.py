"""EPF's day-ahead references for bench/epf.py, on one market's rows cut into whole days (days, 24): the
"naive 1/7" (the same hour a week earlier for Mondays, Saturdays and Sundays, the day before otherwise),
a LEAR-like least-squares model (one ridge regression per hour of the day), and the field's metrics (MAE,
sMAPE, and rMAE against the naive 1/7). numpy and scikit-learn only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import Ridge

HOURS = 24
WEEKLY_DAYS = (0, 5, 6)  # Monday, Saturday, Sunday (pandas' dayofweek)
ALPHAS = np.logspace(-2, 4, 25)


def naive_1_7(prices: np.ndarray, dayofweek: np.ndarray) -> np.ndarray:
    """(days, 24) the naive 1/7 forecast of each day of `prices` (days, 24), NaN for the first week's days
    that lack the day it copies; `dayofweek` (days,) 0 = Monday."""
    forecast = np.full(prices.shape, np.nan)
    forecast[1:] = prices[:-1]
    weekly = np.isin(dayofweek, WEEKLY_DAYS)
    forecast[weekly] = np.nan
    forecast[7:][weekly[7:]] = prices[:-7][weekly[7:]]
    return forecast


def smape(truth: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent, 2|y - f| / (|y| + |f|), a pair of zeros counting 0."""
    denominator = np.abs(truth) + np.abs(forecast)
    ratio = np.divide(
        2 * np.abs(truth - forecast), denominator, out=np.zeros_like(denominator), where=denominator > 0
    )
    return float(100 * ratio.mean())


def scores(truth: np.ndarray, forecast: np.ndarray, naive: np.ndarray) -> dict[str, float]:
    """MAE, rMAE (over the naive's MAE on the same hours) and sMAPE of `forecast` on `truth`."""
    mae = float(np.abs(truth - forecast).mean())
    return {"mae": mae, "rmae": mae / float(np.abs(truth - naive).mean()), "smape": smape(truth, forecast)}


def lear_inputs(prices: np.ndarray, future: np.ndarray, dayofweek: np.ndarray) -> Normalised:
    """Each day's regressors (NaN for the first week's days), each normalised by the week before it as the
    Bi-LSTM's `revin` normalises its window: the prices of that week, the future columns (days, 24, E) of the
    day itself, and day-of-week dummies; and the day's prices in the same units."""
    days, columns = len(prices), future.shape[2]
    # day d reads the 7 days before it: -> (days - 7, 168) and (days - 7, 168, E)
    week = (
        np.lib.stride_tricks.sliding_window_view(prices, 7, axis=0)[:-1]
        .transpose(0, 2, 1)
        .reshape(days - 7, -1)
    )
    future_week = np.lib.stride_tricks.sliding_window_view(future, 7, axis=0)[:-1]
    future_week = future_week.transpose(0, 3, 1, 2).reshape(days - 7, -1, columns)
    level, spread = week.mean(axis=1, keepdims=True), week.std(axis=1, keepdims=True) + 1e-6
    future_level, future_spread = future_week.mean(axis=1), future_week.std(axis=1) + 1e-6
    today = (future[7:] - future_level[:, None, :]) / future_spread[:, None, :]
    x = np.hstack([(week - level) / spread, today.reshape(days - 7, -1), np.eye(7)[dayofweek[7:]]])
    nan = np.full((7, 1), np.nan)
    return Normalised(
        x=np.vstack([np.full((7, x.shape[1]), np.nan), x]),
        y=np.vstack([np.full((7, HOURS), np.nan), (prices[7:] - level) / spread]),
        level=np.vstack([nan, level]),
        spread=np.vstack([nan, spread]),
    )


@dataclass
class Normalised:
    """Per day: regressors x (days, F), prices y (days, 24) in the units of the week before, and that
    week's mean and deviation (days, 1), which put a forecast back into EUR/MWh."""

    x: np.ndarray
    y: np.ndarray
    level: np.ndarray
    spread: np.ndarray


def lear_forecasts(
    markets: list[tuple[np.ndarray, np.ndarray, np.ndarray]], fit_days: int, held_out: int = 7
) -> tuple[list[np.ndarray], float]:
    """A LEAR-like model of every market at once: one ridge regression per hour of the day on `lear_inputs`,
    pooled over markets (a week before each day leaves few days per market), fitted on the first `fit_days`
    days only. Its penalty has the lowest MAE on the last `held_out` fit days when fitted on the days before
    them; then it is refitted on all fit days.

    Args:
        markets: per market (prices (days, 24), future columns (days, 24, E), day of week (days,)).

    Returns:
        per market (days, 24) the forecast of each day from its inputs (NaN the first week), and the penalty.
    """
    days = [lear_inputs(*market) for market in markets]
    cut = fit_days - held_out

    def ridge(rows: slice, alpha: float) -> tuple[Ridge, np.ndarray, np.ndarray]:
        x = np.vstack([day.x[rows] for day in days])
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
        # one multi-output ridge: the 24 hours' regressions share the inputs and the penalty
        return Ridge(alpha=alpha).fit((x - mean) / std, np.vstack([day.y[rows] for day in days])), mean, std

    def forecast(fitted: tuple[Ridge, np.ndarray, np.ndarray], rows: slice) -> list[np.ndarray]:
        model, mean, std = fitted
        return [model.predict((d.x[rows] - mean) / std) * d.spread[rows] + d.level[rows] for d in days]

    held = slice(cut, fit_days)
    truth = np.vstack([prices[held] for prices, _, _ in markets])
    errors = [np.abs(np.vstack(forecast(ridge(slice(7, cut), a), held)) - truth).mean() for a in ALPHAS]
    alpha = float(ALPHAS[int(np.argmin(errors))])
    predicted = forecast(ridge(slice(7, fit_days), alpha), slice(7, None))
    return [np.vstack([np.full((7, HOURS), np.nan), p]) for p in predicted], alpha
