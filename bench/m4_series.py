"""M4's benchmarks and scores for one series at a time, as the competition's scripts compute them: Naive2,
seasonal naive, sMAPE and MASE of a series' next steps. The benchmarks that score a file of series one by one
(bench/m4_baselines.py, bench/m4_neuralforecast.py) use these; the pipeline scores windows of many series at
once (`bilstm.metrics.baselines`) on the same seasonality test, indices and MASE scale (`bilstm.m4`).
"""

from __future__ import annotations

import numpy as np

from bilstm.m4 import mase_scale, seasonal_indices, seasonality_detected


def naive2_forecast(insample: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """M4's Naive2: persistence of the seasonally adjusted series when the seasonality test passes, its
    seasonal indices put back on the future positions; plain persistence otherwise. -> (horizon,)"""
    x = np.asarray(insample, dtype=np.float64).reshape(-1)
    if not seasonality_detected(x, period):
        return np.full(horizon, x[-1])
    indices = seasonal_indices(x, period)
    level = x[-1] / indices[(len(x) - 1) % period]
    return level * indices[(len(x) + np.arange(horizon)) % period]


def seasonal_naive_forecast(insample: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """The last `period` values, repeated over the horizon (M4's `naive_seasonal`); ValueError with fewer
    rows than one period."""
    x = np.asarray(insample, dtype=np.float64).reshape(-1)
    if len(x) < period:
        raise ValueError(f"seasonal naive needs one period ({period} rows) of history, got {len(x)}")
    return x[len(x) - period + np.arange(horizon) % period]


def series_scores(
    insample: np.ndarray, truth: np.ndarray, forecasts: dict[str, np.ndarray], period: int
) -> dict[str, float]:
    """{f"{name}_smape", f"{name}_mase"} of each (T,) forecast of the (T,) `truth` that followed the (n,)
    `insample`: M4's sMAPE in percent (a step where truth and forecast are both 0 counts as 0), and mean
    |truth - forecast| over `mase_scale(insample, period)`."""
    y = np.asarray(truth, dtype=np.float64).reshape(-1)
    scale = mase_scale(insample, period)
    scores: dict[str, float] = {}
    for name, forecast in forecasts.items():
        f = np.asarray(forecast, dtype=np.float64).reshape(-1)
        if f.shape != y.shape:
            raise ValueError(f"forecast {name!r} has {len(f)} steps, the truth {len(y)}")
        denominator = np.abs(y) + np.abs(f)
        ratio = np.divide(np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0)
        scores[f"{name}_smape"] = float(200.0 * ratio.mean())
        error = float(np.mean(np.abs(y - f)))
        scores[f"{name}_mase"] = error / scale if scale > 0 else float("inf")
    return scores
