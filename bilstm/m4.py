"""The M4 competition's measures, for one series at a time: its seasonality test, the classical multiplicative
seasonal indices behind Naive2, MASE's in-sample scale and OWA.

Followed from the competition's own code, Mcompetitions/M4-methods `Benchmarks and Evaluation.R` (the R
script that produced the published statistical benchmarks, Naive2 among them: `SeasonalityTest`,
`decompose(type = "multiplicative")`, `naive_seasonal`, `smape_cal`, `mase_cal` and its OWA lines), checked
against `ML_benchmarks.py` (`seasonality_test`, `acf`, `deseasonalize`, `smape`, `mase`). Where the two
differ, the R script is followed, since it made the published Naive2 figures:

- the seasonality test squares the lag-1 autocorrelation too (the Python script does not, a difference M4
  noted after the competition);
- the trend is R's centred moving average chosen by the period's parity (2 x m for an even period `m`), not
  `ML_benchmarks.py`'s choice by the series' length parity (a slip M4 also noted).

One departure from the R script: R's `acf` stops at its default `lag.max = floor(10 log10 n)`, so its test
reads NA (not seasonal) for a series shorter than 10^(m/10) rows (251 for m = 24). That never bit M4 Hourly
(700 rows and more); here the autocorrelation at lag `m` is always computed, as `ML_benchmarks.py` does.

Alignment: positions count from the series' first row (position 0). Seasonal index `i` belongs to every row
whose position is ≡ i (mod period), as R's `decompose` lays its figure out from the series' start; the step
`h` (0-based) after a series of `n` rows has position `n + h`.

Pure numpy: series are 1-D float arrays in time order without gaps.
"""

from __future__ import annotations

import numpy as np

Z_90 = 1.645  # M4's `tcrit`: the normal's 95 % quantile, so |acf| beyond it is a two-sided 90 % test


def _series(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _autocorrelations(x: np.ndarray, max_lag: int) -> np.ndarray:
    """(max_lag,) sample autocorrelations at lags 1..max_lag (mean removed, divided by the lag-0 sum)."""
    deviations = x - x.mean()
    total = float(deviations @ deviations)
    return np.array([deviations[lag:] @ deviations[:-lag] for lag in range(1, max_lag + 1)]) / total


def seasonality_detected(insample: np.ndarray, period: int) -> bool:
    """M4's 90 % test: is the autocorrelation at lag `period` beyond its Bartlett limit?

    |acf_m| > 1.645 * sqrt((1 + 2 * sum_{k=1}^{m-1} acf_k^2) / n). False for a period of 1 or less, for a
    series shorter than 3 periods, and for a constant series (its autocorrelation is undefined).
    """
    x = _series(insample)
    if period <= 1 or len(x) < 3 * period or np.all(x == x[0]):
        return False
    acf = _autocorrelations(x, period)
    limit = Z_90 * np.sqrt((1 + 2 * np.sum(acf[: period - 1] ** 2)) / len(x))
    return bool(abs(acf[period - 1]) > limit)


def seasonal_indices(insample: np.ndarray, period: int) -> np.ndarray:
    """Multiplicative seasonal indices of classical decomposition (R's `decompose`), whether or not the
    series passes the seasonality test.

    The trend is the centred moving average of `period` rows (2 x `period` for an even period: weights
    1/2, 1, ..., 1, 1/2 over period + 1 rows); index `i` is the mean of value / trend over the rows at
    positions ≡ i (mod period) from the series' start where the trend exists; the indices are then divided
    by their mean (they average 1).

    Returns:
        (period,) indices; index `i` applies to positions ≡ i (mod period), position 0 being the first row.

    Raises:
        ValueError: fewer than 2 periods of rows (R's `decompose` refuses them too).
    """
    x = _series(insample)
    if len(x) < 2 * period:
        raise ValueError(f"seasonal indices need at least 2 periods ({2 * period} rows), got {len(x)}")
    if period % 2 == 0:
        weights = np.concatenate([[0.5], np.ones(period - 1), [0.5]]) / period
    else:
        weights = np.ones(period) / period
    trend = np.convolve(x, weights, mode="valid")  # trend of rows half..n-1-half
    half = len(weights) // 2
    ratios = np.full(len(x), np.nan)
    ratios[half : half + len(trend)] = x[half : half + len(trend)] / trend
    # (n,) -> (cycles, period), padded with NaN past the last row
    padded = np.concatenate([ratios, np.full(-len(x) % period, np.nan)]).reshape(-1, period)
    figure = np.nanmean(padded, axis=0)
    return figure / figure.mean()


def mase_scale(insample: np.ndarray, period: int) -> float:
    """MASE's denominator: the mean absolute error of the in-sample seasonal naive, |y_t - y_{t-m}| over
    t = m..n-1 (M4's `mase_cal`); lag 1 when the series is not longer than one period. 0 for a series that
    does not move at that lag (its MASE is then infinite)."""
    x = _series(insample)
    lag = period if len(x) > period else 1
    return float(np.mean(np.abs(x[lag:] - x[:-lag])))


def owa(smape: float, mase: float, naive2_smape: float, naive2_mase: float) -> float:
    """M4's overall weighted average: the mean of sMAPE and MASE, each relative to Naive2's. Pass the MEANS
    over series (M4 divides the means, not the series' ratios); 1 is Naive2, below 1 beats it."""
    return 0.5 * (smape / naive2_smape + mase / naive2_mase)
