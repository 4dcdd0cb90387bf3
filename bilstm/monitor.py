"""The monitor's core: a registered forecaster's realised error on the newest actuals, held to what it
promised at registration (`bilstm.promise`), and its inputs to its train rows (`bilstm.drift`).

The monitored stretch is the last `window` rows (default: a week of steps for data of a day's step or
shorter). Its windows are the recorded forecasts whose targets all arrived there, where there are any, else
rolling origins: every stride-1 window whose targets lie there, forecast by the model from the `lookback`
rows before it. Errors are scaled by the model's own scaler; persistence (the last value before each
window) is scored on the same windows. Many series are scored each on its own stretch, pooled at each
window offset, and each held to its own test windows' band (`bilstm.monitored_series`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bilstm.errors import MonitorInputError
from bilstm.forecaster import Forecaster
from bilstm.input_checks import check_window
from bilstm.metrics import naive_forecast
from bilstm.promise import Band, Promise, band, coverage_band, fallback_band, window_miss, window_mse
from bilstm.recorded import arrived_windows
from bilstm.scaling import Scaler

ROLLING, RECORDED = "rolling-origin", "recorded"


def default_window(freq: str, horizon: int, period: int) -> int:
    """A week of steps for data stepping a day or less (168 for hourly data), else four seasonal periods
    (`period` steps each); at least two horizons."""
    offset = pd.tseries.frequencies.to_offset(freq)
    try:
        steps = int(pd.Timedelta(days=7) / pd.Timedelta(offset))
    except ValueError:  # months, quarters, weeks: no fixed length in pandas
        steps = 4 * period
    return max(steps, 2 * horizon)


def first_target_row(rows: int, forecaster: Forecaster, window: int, source: str) -> int:
    """The first row of the monitored stretch of `window` rows of a series of `rows` rows, checked to
    leave one window with its `lookback` rows of input before it."""
    lookback, horizon = forecaster.spec.lookback, forecaster.spec.horizon
    if rows < lookback + horizon:
        raise MonitorInputError(
            f"{source}: {rows} rows; the model needs lookback {lookback} + horizon {horizon} ="
            f" {lookback + horizon} rows to score one window: pass a longer history"
        )
    check_window(window, rows, source)
    if window < horizon:
        raise MonitorInputError(
            f"--window {window}: shorter than the model's horizon ({horizon}), so no window's targets fit;"
            f" pass --window {horizon} or more"
        )
    return max(rows - window, lookback)


@dataclass
class Scores:
    """The monitored windows, in time order: where their first targets lie, and their errors."""

    source: str  # ROLLING or RECORDED
    rows: np.ndarray  # (m,) the row of each window's first target
    mse: np.ndarray  # (m,) scaled with the model's scaler
    naive_mse: np.ndarray  # (m,) persistence on the same windows
    miss: np.ndarray | None  # (m,) share of targets outside the 95 % interval; None without one

    @property
    def offsets(self) -> np.ndarray:
        """(m,) rows from the first window's first target: where the band's stretches take theirs."""
        return self.rows - self.rows[0]


def rolling_scores(
    forecaster: Forecaster,
    frame: pd.DataFrame,
    first_row: int,
    series: int = 0,
    scaler: Scaler | None = None,
    static: np.ndarray | None = None,
) -> Scores:
    """Every stride-1 window whose targets lie in rows [first_row, end) of `frame` (the model's input
    columns of series `series` of `scaler`, the forecaster's own by default, original units, indexed by
    time); `static`: (D,) the series' encoded static columns, for a model with them."""
    spec, scaler = forecaster.spec, scaler or forecaster.scaler
    lookback, horizon = spec.lookback, spec.horizon
    windows = len(frame) - first_row - horizon + 1
    rows = slice(first_row - lookback, len(frame))
    values, times = frame[spec.input_columns].to_numpy(np.float64)[rows], frame.index[rows]
    forecast = forecaster.forecast_windows(values, times, series, scaler, static)  # (windows, T, k)
    target_values = frame[spec.target_columns].to_numpy(np.float64)
    # (windows, k, T) -> (windows, T, k)
    truth = np.lib.stride_tricks.sliding_window_view(target_values[first_row:], horizon, axis=0)
    truth = truth.transpose(0, 2, 1)
    naive = naive_forecast(target_values, first_row, windows, horizon)
    numbers, miss = np.full(windows, series), None
    if forecaster.intervals is not None:
        inputs = forecaster.input_windows(values, times, series, scaler)[:windows]
        miss = window_miss(truth, coverage_band(forecaster.bands(forecast, inputs, numbers, scaler)))
    return Scores(
        ROLLING,
        np.arange(first_row, first_row + windows),
        window_mse(truth, forecast, scaler, numbers),
        window_mse(truth, naive, scaler, numbers),
        miss,
    )


def recorded_scores(
    forecaster: Forecaster,
    frame: pd.DataFrame,
    recorded: pd.DataFrame,
    first_row: int,
    series: int = 0,
    scaler: Scaler | None = None,
) -> Scores | None:
    """The recorded forecasts (`bilstm.recorded`, of this series alone) whose targets all arrived in rows
    [first_row, end) of `frame` (series `series` of `scaler`, the forecaster's own by default); None if
    there are none."""
    spec, scaler = forecaster.spec, scaler or forecaster.scaler
    issue_rows, target_rows, arrays = arrived_windows(recorded, spec, frame.index, first_row)
    if len(issue_rows) == 0:
        return None
    target_values = frame[spec.target_columns].to_numpy(np.float64)
    # each forecast's target rows: (m, T) -> truth (m, T, k)
    truth = target_values[target_rows[:, None] + np.arange(spec.horizon)[None, :]]
    naive = np.repeat(target_values[issue_rows][:, None, :], spec.horizon, axis=1)
    band_95 = (arrays["lo_95"], arrays["hi_95"]) if {"lo_95", "hi_95"} <= arrays.keys() else None
    numbers = np.full(len(target_rows), series)
    return Scores(
        RECORDED,
        target_rows,
        window_mse(truth, arrays["value"], scaler, numbers),
        window_mse(truth, naive, scaler, numbers),
        window_miss(truth, band_95),
    )


@dataclass
class Verdict:
    """The monitor's figures and its decision, with the reasons for it."""

    realised_mse: float
    persistence_mse: float
    error_band: Band
    coverage_95: float | None  # realised; None without a 95 % interval
    coverage_band: Band | None  # of the miss share (1 - coverage); None without a promise of it
    drift: dict[str, float]  # PSI per input column
    drift_thresholds: dict[str, float]
    reasons: list[str] = field(default_factory=list)  # empty: healthy

    @property
    def degraded(self) -> bool:
        return bool(self.reasons)


@dataclass
class Limits:
    """What a stretch of windows at given offsets, over a given number of rows, is held to."""

    error_band: Band
    miss_band: Band | None  # None without a promised 95 % interval
    drift_thresholds: dict[str, float]  # {} without a drift reference


def limits(promise: Promise | None, test_mse: float, offsets: np.ndarray, rows: int) -> Limits:
    """The bands of windows at `offsets` and the drift thresholds of `rows` rows; without a `promise` (a
    model registered before promises were recorded) the error band falls back on `test_mse` alone."""
    if promise is None:
        return Limits(fallback_band(test_mse), None, {})
    miss_band = None if promise.miss is None else band(promise.miss, offsets)
    thresholds = {} if promise.drift is None else promise.drift.thresholds(rows)
    return Limits(band(promise.mse, offsets), miss_band, thresholds)


def judge(
    scores: Scores,
    promise: Promise | None,
    test_mse: float,
    rows: pd.DataFrame,
    held_to: Limits | None = None,
) -> Verdict:
    """The verdict on `scores`: degraded when the realised mean error is above the band's threshold, the
    share of targets outside the 95 % interval above its own, or any input column's PSI over `rows` (the
    monitored rows of the input columns) above its threshold. `held_to`: the `limits` of these offsets and
    rows, where they are known already (a benchmark judging many stretches of one length)."""
    held_to = held_to or limits(promise, test_mse, scores.offsets, len(rows))
    error_band, thresholds = held_to.error_band, held_to.drift_thresholds
    realised = float(scores.mse.mean())
    coverage_95 = None if scores.miss is None else 1 - float(scores.miss.mean())
    miss_band = held_to.miss_band if scores.miss is not None else None
    drift = promise.drift.psi(rows) if thresholds else {}
    reasons = []
    if realised > error_band.threshold:
        reasons.append(
            f"realised MSE {realised:.4f} is above the threshold {error_band.threshold:.4f}"
            f" (promised {error_band.expected:.4f})"
        )
    if miss_band is not None and 1 - coverage_95 > miss_band.threshold:
        reasons.append(
            f"95 % interval coverage {coverage_95:.3f} is below {1 - miss_band.threshold:.3f}"
            f" (promised {1 - miss_band.expected:.3f})"
        )
    reasons += [
        f"input {name} drifted: PSI {value:.2f} above {thresholds[name]:.2f}"
        for name, value in drift.items()
        if value > thresholds[name]
    ]
    persistence = float(scores.naive_mse.mean())
    return Verdict(realised, persistence, error_band, coverage_95, miss_band, drift, thresholds, reasons)
