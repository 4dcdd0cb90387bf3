"""What a model promised at registration, and the band the monitor holds its realised error to.

The training run records the scaled MSE of each of its test windows (stride 1, in time order), the share of
each window's targets outside its 95 % interval where it has one, and its drift reference (`Promise`).

The band rule: a monitored stretch of m windows, whose first targets lie at row offsets o_1 = 0 < ... < o_m,
is set beside every stretch of the test windows at the same offsets; the mean error of each is one draw of
what the model promised for such a stretch. The band is the 1st to 99th percentile of those means, and the
realised mean error is too high above `TOLERANCE` times the 99th percentile (the threshold). The same rule
holds the share of targets outside the 95 % interval (1 - coverage) to its promise. The tolerance is there
because a test period of a few months does not show every season: on ETTh1, a week after the test period
reached 1.17x the 99th percentile of the test period's weekly means (docs/how-to/monitoring.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bilstm.drift import DriftReference
from bilstm.errors import MonitorInputError
from bilstm.evaluation import Evaluation
from bilstm.pipeline import ScaledSplit
from bilstm.scaling import Scaler

QUANTILE = 0.99  # the band's upper percentile of the promised stretch means (and 1 - its lower one)
TOLERANCE = 1.25  # the threshold: this times the upper percentile
COVERAGE_LEVEL = 95.0  # the interval whose coverage the monitor checks
# models registered before per-window errors were recorded: threshold = this times their test MSE (on ETTh1
# the per-window rule's threshold for a week of hourly windows is 2.7x the test MSE)
FALLBACK_FACTOR = 2.5


def window_mse(
    truth: np.ndarray, forecast: np.ndarray, scaler: Scaler, series: np.ndarray | None = None
) -> np.ndarray:
    """(N,) scaled MSE of each of (N, T, k) windows in original units, window n of series series[n] of
    `scaler` (None: all of its first); `scaler`'s last k columns are the targets."""
    targets = slice(-truth.shape[-1], None)
    error = scaler.transform(truth, targets, series) - scaler.transform(forecast, targets, series)
    return (error**2).mean(axis=(1, 2))


def window_miss(truth: np.ndarray, band: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | None:
    """(N,) share of each window's targets outside its (lo, hi) band; None without a band."""
    if band is None:
        return None
    lo, hi = band
    return ((truth < lo) | (truth > hi)).mean(axis=(1, 2))


def coverage_band(bands: dict[float, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray] | None:
    """The `COVERAGE_LEVEL` band of a forecaster's {level: (lo, hi)}, or None if it has no such level."""
    return next((band for level, band in bands.items() if float(level) == COVERAGE_LEVEL), None)


@dataclass
class Promise:
    """A registered model's test windows: first target time, scaled MSE and 95 % miss share of each, in
    time order (series after series, for a model of many); and its drift reference. Both are None for
    models registered before they were recorded."""

    first_targets: list[str]
    mse: np.ndarray  # (n,)
    miss: np.ndarray | None  # (n,); None without a 95 % interval
    drift: DriftReference | None = None
    series: np.ndarray | None = None  # (n,) the series id of each window; None: a model of one series

    @property
    def expected_mse(self) -> float:
        return float(self.mse.mean())

    def of_series(self, series_id: str) -> Promise | None:
        """The promise of one series' test windows; None for a series the model was not tested on."""
        if self.series is None:
            return self
        mine = self.series == series_id
        if not mine.any():
            return None
        first_targets = [t for t, keep in zip(self.first_targets, mine, strict=True) if keep]
        miss = None if self.miss is None else self.miss[mine]
        return Promise(first_targets, self.mse[mine], miss, self.drift)

    def pooled(self) -> Promise:
        """The mean over series of the test windows at each offset from each series' first one: what the
        mean error over series was promised (the promise itself for a model of one series)."""
        if self.series is None:
            return self
        frame = self.to_frame()
        frame["offset"] = frame.groupby("series", sort=False).cumcount()
        means = frame.groupby("offset").agg(
            first_target=("first_target", "first"),
            **{c: (c, "mean") for c in ("mse_scaled", "miss_95") if c in frame},
        )
        return Promise.from_frame(means.reset_index(drop=True), self.drift)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"first_target": self.first_targets, "mse_scaled": self.mse})
        frame = frame if self.miss is None else frame.assign(miss_95=self.miss)
        return frame if self.series is None else frame.assign(series=self.series)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, drift: DriftReference | None) -> Promise:
        miss = frame["miss_95"].to_numpy(float) if "miss_95" in frame else None
        series = frame["series"].astype(str).to_numpy(object) if "series" in frame else None
        first_targets = frame["first_target"].astype(str).tolist()
        return cls(first_targets, frame["mse_scaled"].to_numpy(float), miss, drift, series)


def promise_of(evaluation: Evaluation, prepared: ScaledSplit) -> Promise:
    """The promise of a forecaster evaluated on every test window of `prepared` (whose scaler is the
    forecaster's own), with the drift reference of its train rows and held-out rows (validation and test),
    pooled over series for a model of many."""
    mse = window_mse(evaluation.truth, evaluation.forecast, prepared.scaler, evaluation.series)
    miss = window_miss(evaluation.truth, coverage_band(evaluation.bands))
    series, split = prepared.series, prepared.split
    first_targets = series.shown_times[evaluation.first_rows].astype(str).tolist()
    inputs = series.frame[series.file_columns]  # the calendar's, of the stamps, never drift
    held_out = np.zeros(len(inputs) + 1, dtype=np.int64)  # +1 at each series' train end, -1 at its test end
    np.add.at(held_out, split.train_end, 1)
    np.add.at(held_out, split.test_end, -1)
    drift = DriftReference.fit(inputs[split.train_mask(len(inputs))], inputs[np.cumsum(held_out)[:-1] > 0])
    ids = None if series.series_column is None else series.ids[evaluation.series].astype(str)
    return Promise(first_targets, mse, miss, drift, ids)


@dataclass
class Band:
    """What a stretch of monitored windows was promised, from the test windows at the same offsets."""

    expected: float  # the mean over all test windows
    low: float  # 1st percentile of the stretch means (NaN for a fallback band)
    high: float  # 99th percentile
    threshold: float  # above it: degraded
    test_false_alarm_rate: float  # share of the test stretches above the threshold (NaN for a fallback)


def band(promised: np.ndarray, offsets: np.ndarray) -> Band:
    """The band of a monitored stretch of windows at row `offsets` (first 0, increasing) for the (n,)
    promised per-window values (errors or miss shares) of the test windows."""
    span = int(offsets[-1])
    if span >= len(promised):
        raise MonitorInputError(
            f"--window: the monitored windows span {span + 1} rows of first targets, more than the"
            f" {len(promised)} test windows of the model's promise; monitor a shorter stretch"
            f" (--window at most {len(promised)} + the horizon - 1)"
        )
    starts = np.arange(len(promised) - span)
    means = promised[starts[:, None] + offsets[None, :]].mean(axis=1)  # (stretches,)
    low, high = np.quantile(means, [1 - QUANTILE, QUANTILE])
    threshold = float(TOLERANCE * high)
    return Band(float(promised.mean()), float(low), float(high), threshold, float((means > threshold).mean()))


def fallback_band(test_mse: float) -> Band:
    """For a model registered before per-window errors were recorded: its test MSE, `FALLBACK_FACTOR`
    times it as the threshold."""
    return Band(test_mse, float("nan"), float("nan"), FALLBACK_FACTOR * test_mse, float("nan"))
