"""Prediction intervals by split conformal prediction, per horizon step and per target, and their scores.

Calibrated on residuals of windows the network did not train on (the validation windows), in scaled units; a
forecaster keeps the calibration as plain JSON in its bundle. Two calibrators (`intervals.method`):

- `split-conformal` (`ConformalIntervals`): quantiles of the absolute residuals; the same band for every
  window.
- `scaled-residuals` (`ScaledResidualIntervals`): quantiles of the absolute residuals divided by each
  window's volatility, the mean absolute first difference of each target over the last `window` input
  steps; the band of a window is that quantile times its own volatility, narrow in calm spells and wide in
  volatile ones.

Many series: the residuals are in each series' own scaled units, so one set of half-widths pooled over every
series (`pooling` "pooled") scales to each series by its scaler. Where each series has enough validation
windows, half-widths per series (`by_series`) are tried too; `choose_pooling` keeps whichever covers the later
half of every series' validation windows nearer the nominal levels when calibrated on the earlier half.

Where the validation windows are too few for a level (ceil((n + 1) * a) > n), its half-width is the largest
score times a normal tail's factor (`tail_factor`), with one warning line (`shortfall_warnings`). The bands'
scores (coverage, width, MSIS) are `bilstm.metrics.interval_scores`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

FLOOR_SHARE = 0.1  # the least volatility, as a share of the calibration windows' median per target
_TINY = 1e-8  # the floor where the calibration windows' median volatility is zero (a constant target)


def level_name(level: float) -> str:
    """'80' for 80.0, '97.5' for 97.5: the suffix of the metric and column names of a level."""
    return f"{level:g}"


def fewest_windows(level: float) -> int:
    """The fewest calibration windows n whose ceil((n + 1) * a)-th smallest score exists (is at most n) for
    `level` a in percent: 4 for 80, 19 for 95."""
    return next(n for n in itertools.count(1) if math.ceil((n + 1) * level / 100) <= n)


def tail_factor(level: float, n: int) -> float:
    """What the largest of n scores is multiplied by for a `level` (percent) that n windows cannot support:
    the ratio of a normal's two-sided quantiles at the level and at n / (n + 1), the highest level that
    largest score supports. Above 1 and increasing with the level, so the bands stay nested and apart."""
    normal = NormalDist()
    return normal.inv_cdf((1 + level / 100) / 2) / normal.inv_cdf((1 + n / (n + 1)) / 2)


def conformal_quantiles(scores: np.ndarray, levels: list[float]) -> np.ndarray:
    """(levels, T, k): per level `a`, the ceil((n + 1) * a)-th smallest of the (n, T, k) `scores` per cell;
    where that rank exceeds n, the largest times `tail_factor`."""
    scores = np.sort(scores, axis=0)
    n = len(scores)
    if n < 1:
        raise ValueError("conformal calibration needs at least one window")
    if not levels:
        return np.zeros((0,) + scores.shape[1:])
    quantiles = []
    for level in levels:
        rank = math.ceil((n + 1) * level / 100)
        # scores[rank - 1] -> (T, k)
        quantiles.append(scores[rank - 1] if rank <= n else scores[-1] * tail_factor(level, n))
    return np.stack(quantiles)


def shortfall_warnings(intervals: ConformalIntervals | None) -> list[str]:
    """One line (or none) naming the levels too few validation windows calibrated, and what their bands
    are instead."""
    if intervals is None:
        return []
    n = intervals.n
    short = [level for level in intervals.levels if fewest_windows(level) > n]
    if not short:
        return []
    bands = " and ".join(f"{level_name(level)} %" for level in short)
    needs = " and ".join(str(fewest_windows(level)) for level in short)
    factors = " and ".join(f"{tail_factor(level, n):.2f}" for level in short)
    plural = len(short) > 1
    return [
        f"the {bands} band{'s' if plural else ''} need{'' if plural else 's'} at least {needs} validation"
        f" windows per horizon step, this run has {n}: {'they are' if plural else 'it is'} the largest"
        f" validation residual times {factors} (normal quantile ratios), without conformal's coverage"
        " guarantee; lengthen the validation split or lower intervals.levels"
    ]


@dataclass
class ConformalIntervals:
    """Symmetric bands `point ± quantiles[level]`, one half-width per (level, horizon step, target).

    Split conformal: the half-width of level `a` at step t for target j is the ceil((n + 1) * a)-th smallest
    of the n absolute calibration residuals at (t, j), i.e. their empirical quantile at the finite-sample
    corrected level ceil((n + 1) * a) / n. Where that rank exceeds n (fewer than a / (1 - a) windows) the
    largest residual times `tail_factor` is used and the coverage guarantee does not hold.
    """

    levels: list[float]  # percent, strictly increasing
    # (len(levels), T, k) half-widths in scaled units (in volatilities for scaled-residuals)
    quantiles: np.ndarray
    n: int  # calibration windows
    method: str = "split-conformal"
    # (S, len(levels), T, k) half-widths of each training series, where calibrated per series; else None
    by_series: np.ndarray | None = None
    choice: str = ""  # why pooled or per series (many series), for the run's log; not saved

    @property
    def pooling(self) -> str:
        return "pooled" if self.by_series is None else "per-series"

    @classmethod
    def calibrate(cls, residuals: np.ndarray, levels: list[float]) -> ConformalIntervals:
        """Half-widths from (n, T, k) residuals (truth - forecast) of calibration windows."""
        scores = np.abs(np.asarray(residuals, dtype=np.float64))
        return cls(list(levels), conformal_quantiles(scores, levels), len(scores))

    def scores(self, residuals: np.ndarray, inputs: np.ndarray | None) -> np.ndarray:
        """(n, T, k) conformity scores of residuals of windows with (n, L, C) scaled `inputs`: |residual| in
        units of each window's volatility."""
        # volatility (n, k) -> (n, 1, k), one for every step
        scale = np.asarray(self.volatility(inputs), dtype=np.float64)
        return np.abs(np.asarray(residuals, dtype=np.float64)) / (
            scale if scale.ndim == 0 else scale[:, None]
        )

    def volatility(self, inputs: np.ndarray | None) -> np.ndarray | float:
        """What a window's half-widths are multiplied by: 1 here, whatever the inputs."""
        return 1.0

    def bands(
        self,
        point: np.ndarray,
        unit: np.ndarray | float = 1.0,
        inputs: np.ndarray | None = None,
        series: np.ndarray | None = None,
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """{level: (lo, hi)} around (..., T, k) `point`; `unit` (k,) turns a scaled half-width into the
        point's units (the scaler's scale per target); `inputs` (..., L, C) are the scaled network inputs of
        the windows forecast, targets last (only `ScaledResidualIntervals` reads them); `series` (N,): the
        training series number of each of N windows, for half-widths per series (-1: the pooled ones).
        Nested: a higher level's band holds a lower one's."""
        point = np.asarray(point, dtype=np.float64)
        scale = np.asarray(self.volatility(inputs), dtype=np.float64)
        # a volatility per window (..., k) -> (..., 1, k), one for every step
        scale = scale if scale.ndim == 0 else scale[..., None, :]
        halves = self.quantiles
        if self.by_series is not None and series is not None:
            # (S + 1, levels, T, k), the pooled half-widths last for -1 -> (levels, N, T, k)
            table = np.concatenate([self.by_series, self.quantiles[None]])
            halves = table[np.asarray(series)].swapaxes(0, 1)
        result = {}
        for level, half in zip(self.levels, halves, strict=True):
            width = half * scale * np.asarray(unit, dtype=np.float64)
            result[level] = (point - width, point + width)
        return result

    def to_json(self) -> dict[str, Any]:
        per_series = {} if self.by_series is None else {"by_series": self.by_series.tolist()}
        return {
            "method": self.method,
            "levels": self.levels,
            "n": self.n,
            "quantiles": self.quantiles.tolist(),
        } | per_series

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConformalIntervals:
        """The calibrator `data["method"]` names, as `to_json` wrote it."""
        methods = {"split-conformal": ConformalIntervals, "scaled-residuals": ScaledResidualIntervals}
        if data["method"] not in methods:
            raise ValueError(
                f"unknown interval method {data['method']!r}; this release knows {', '.join(methods)}"
            )
        return methods[data["method"]]._from_json(data)

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> ConformalIntervals:
        by_series = np.asarray(data["by_series"], dtype=np.float64) if "by_series" in data else None
        quantiles = np.asarray(data["quantiles"], dtype=np.float64)
        return cls(list(data["levels"]), quantiles, int(data["n"]), by_series=by_series)


@dataclass
class ScaledResidualIntervals(ConformalIntervals):
    """Bands `point ± quantiles[level] * v`, where v (per target) is the volatility of the window forecast:
    the mean absolute first difference of the target over its last `window` input steps, at least `floor`.

    The quantiles are split-conformal ones (as `ConformalIntervals`) of |residual| / v of the calibration
    windows, so coverage holds where a window's errors scale with its recent volatility.
    """

    method: str = "scaled-residuals"
    window: int = 1  # input steps whose first differences give the volatility (1 difference needs 2 rows)
    floor: np.ndarray | None = None  # (k,) the least volatility, scaled units

    @classmethod
    def calibrate(  # type: ignore[override]
        cls, residuals: np.ndarray, inputs: np.ndarray, levels: list[float], window: int
    ) -> ScaledResidualIntervals:
        """Quantiles of (n, T, k) residuals over the volatility of their (n, L, C) scaled inputs (targets the
        last k columns) over the last `window` steps, cut to L - 1 where the lookback is shorter."""
        residuals = np.asarray(residuals, dtype=np.float64)
        k, lookback = residuals.shape[-1], np.shape(inputs)[-2]
        if lookback < 2:
            raise ValueError("scaled-residual intervals need a lookback of at least 2 (one first difference)")
        window = max(1, min(window, lookback - 1))
        raw = _raw_volatility(inputs, window, k)
        floor = np.maximum(FLOOR_SHARE * np.median(raw, axis=0), _TINY)
        volatility = np.maximum(raw, floor)
        # |residuals| (n, T, k) / volatility (n, 1, k)
        scores = np.abs(residuals) / volatility[:, None, :]
        return cls(list(levels), conformal_quantiles(scores, levels), len(scores), window=window, floor=floor)

    def volatility(self, inputs: np.ndarray | None) -> np.ndarray:
        """(..., k) volatility of (..., L, C) scaled input windows, at least `floor`."""
        if inputs is None:
            raise ValueError("scaled-residual intervals need the input windows of the forecasts")
        return np.maximum(_raw_volatility(inputs, self.window, len(self.floor)), self.floor)

    def to_json(self) -> dict[str, Any]:
        return super().to_json() | {"window": self.window, "floor": self.floor.tolist()}

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> ScaledResidualIntervals:
        base = ConformalIntervals._from_json(data)
        floor = np.asarray(data["floor"], dtype=np.float64)
        return cls(
            base.levels,
            base.quantiles,
            base.n,
            by_series=base.by_series,
            window=int(data["window"]),
            floor=floor,
        )


def _raw_volatility(inputs: np.ndarray, window: int, k: int) -> np.ndarray:
    """(..., k): mean |first difference| of the last k columns over the last `window` + 1 rows of (..., L, C)
    inputs."""
    tail = np.asarray(inputs)[..., -(window + 1) :, -k:].astype(np.float64)  # the slice before the copy
    return np.abs(np.diff(tail, axis=-2)).mean(axis=-2)


def calibrate(
    method: str, residuals: np.ndarray, inputs: np.ndarray, levels: list[float], window: int
) -> ConformalIntervals:
    """The `method` calibrator (`intervals.method`) on (n, T, k) residuals of (n, L, C) scaled input windows;
    `window`: the volatility's input steps (scaled-residuals only)."""
    if method == "scaled-residuals":
        return ScaledResidualIntervals.calibrate(residuals, inputs, levels, window)
    if method == "split-conformal":
        return ConformalIntervals.calibrate(residuals, levels)
    raise ValueError(f"unknown interval method {method!r}; use split-conformal or scaled-residuals")
