"""Prediction intervals by split conformal prediction, per horizon step and per target, and their scores.

Calibrated on absolute residuals of windows the network did not train on (the validation windows), in scaled
units; a forecaster keeps the quantiles as plain JSON in its bundle. Scores: coverage, mean width, MSIS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

METHODS = ("split-conformal",)  # the calibrators this release knows; the bundle names the one it used


def level_name(level: float) -> str:
    """'80' for 80.0, '97.5' for 97.5: the suffix of the metric and column names of a level."""
    return f"{level:g}"


@dataclass
class ConformalIntervals:
    """Symmetric bands `point ± quantiles[level]`, one half-width per (level, horizon step, target).

    Split conformal: the half-width of level `a` at step t for target j is the ceil((n + 1) * a)-th smallest
    of the n absolute calibration residuals at (t, j), i.e. their empirical quantile at the finite-sample
    corrected level ceil((n + 1) * a) / n. Where that rank exceeds n (fewer than a / (1 - a) windows) the
    largest residual is used and the coverage guarantee does not hold.
    """

    levels: list[float]  # percent, strictly increasing
    quantiles: np.ndarray  # (len(levels), T, k) half-widths in scaled units
    n: int  # calibration windows
    method: str = "split-conformal"

    @classmethod
    def calibrate(cls, residuals: np.ndarray, levels: list[float]) -> ConformalIntervals:
        """Half-widths from (n, T, k) residuals (truth - forecast) of calibration windows."""
        scores = np.sort(np.abs(np.asarray(residuals, dtype=np.float64)), axis=0)
        n = len(scores)
        if n < 1:
            raise ValueError("conformal calibration needs at least one window")
        ranks = [min(math.ceil((n + 1) * level / 100), n) for level in levels]
        # scores[rank - 1] -> (T, k) for each level -> (levels, T, k)
        quantiles = (
            np.stack([scores[rank - 1] for rank in ranks]) if ranks else np.zeros((0,) + scores.shape[1:])
        )
        return cls(list(levels), quantiles, n)

    def bands(
        self, point: np.ndarray, unit: np.ndarray | float = 1.0
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """{level: (lo, hi)} around (..., T, k) `point`; `unit` (k,) turns a scaled half-width into the
        point's units (the scaler's scale per target). Nested: a higher level's band holds a lower one's."""
        point = np.asarray(point, dtype=np.float64)
        result = {}
        for level, half in zip(self.levels, self.quantiles, strict=True):
            width = half * np.asarray(unit, dtype=np.float64)
            result[level] = (point - width, point + width)
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "levels": self.levels,
            "n": self.n,
            "quantiles": self.quantiles.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConformalIntervals:
        if data["method"] not in METHODS:
            raise ValueError(
                f"unknown interval method {data['method']!r}; this release knows {', '.join(METHODS)}"
            )
        return cls(
            list(data["levels"]),
            np.asarray(data["quantiles"], dtype=np.float64),
            int(data["n"]),
            data["method"],
        )


def coverage(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray, axis=None) -> np.ndarray | float:
    """Fraction of `truth` inside [lo, hi] (over `axis`; all values by default)."""
    inside = (truth >= lo) & (truth <= hi)
    return inside.mean(axis=axis)


def msis(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float, scale: np.ndarray) -> float:
    """The M4 competition's mean scaled interval score of (N, T, k) bands at `level` percent.

    Per value: (hi - lo) + 2/alpha * (lo - y) if y < lo + 2/alpha * (y - hi) if y > hi, with alpha =
    1 - level/100; averaged per target and divided by `scale` (k,), the in-sample seasonal-naive MAE of the
    target (as MASE), then averaged over targets.
    """
    alpha = 1 - level / 100
    penalty = (2 / alpha) * (np.maximum(lo - truth, 0) + np.maximum(truth - hi, 0))
    score = (hi - lo) + penalty
    per_target = score.reshape(-1, truth.shape[-1]).mean(axis=0)
    return float((per_target / scale).mean())


def interval_scores(
    truth: np.ndarray,
    bands: dict[float, tuple[np.ndarray, np.ndarray]],
    reference_unit: np.ndarray,
    scale: np.ndarray,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Test metrics of (N, T, k) original-unit bands, and coverage per horizon step.

    Args:
        truth: (N, T, k) actual values, original units.
        bands: {level: (lo, hi)} in original units, as `ConformalIntervals.bands` gives.
        reference_unit: (k,) original units per scaled unit, for the widths on scaled values.
        scale: (k,) in-sample seasonal-naive MAE per target, for MSIS.
    Returns:
        `test_coverage_<l>`, `test_width_<l>`, `test_width_<l>_scaled`, `test_msis_<l>` per level l; and
        {`coverage_<l>`: (T,) coverage per step}.
    """
    scores, per_step = {}, {}
    for level, (lo, hi) in bands.items():
        name = level_name(level)
        width = hi - lo
        scores[f"test_coverage_{name}"] = float(coverage(truth, lo, hi))
        scores[f"test_width_{name}"] = float(width.mean())
        scores[f"test_width_{name}_scaled"] = float((width / reference_unit).mean())
        scores[f"test_msis_{name}"] = msis(truth, lo, hi, level, scale)
        per_step[f"coverage_{name}"] = coverage(truth, lo, hi, axis=(0, 2))
    return scores, per_step
