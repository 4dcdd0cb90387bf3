"""Intervals of many series, pooled or per series: calibrated on the earlier half of each series' validation
windows both ways, the one whose coverage of the later half is nearer the nominal levels (the mean over
series and levels of |coverage - level|) is calibrated again on every validation window and kept. Per series
needs, for each series, twice the windows the highest level needs (`fewest_windows`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from bilstm.intervals import ConformalIntervals, conformal_quantiles, fewest_windows


def choose_pooling(
    pooled: ConformalIntervals, residuals: np.ndarray, inputs: np.ndarray, series: np.ndarray, count: int
) -> ConformalIntervals:
    """`pooled` (calibrated on all (n, T, k) `residuals` of the (n, L, C) validation `inputs`) or the same
    calibrator with half-widths per series, whichever covers better, its `choice` saying which and why;
    `series` (n,): each window's series number, of `count` series, windows of a series in time order."""
    series = np.asarray(series)
    counts = np.bincount(series, minlength=count)
    need = 2 * fewest_windows(max(pooled.levels))
    if counts.min() < need:
        choice = (
            f"intervals pooled over the {count} series (each series' residuals in its own scaled units):"
            f" half-widths per series need {need} validation windows per series, the fewest here"
            f" {counts.min()}"
        )
        return dataclasses.replace(pooled, choice=choice)
    scores = pooled.scores(residuals, inputs)
    early = _rank_in_series(series, counts) < counts[series] // 2
    late = ~early
    # the pooled half-widths (levels, T, k) and each series' own (S, levels, T, k), from the earlier half
    pooled_half = conformal_quantiles(scores[early], pooled.levels)
    own = _per_series(scores[early], series[early], count, pooled.levels)
    pooled_miss = _miss(scores[late][:, None] <= pooled_half, series[late], count, pooled.levels)
    own_miss = _miss(scores[late][:, None] <= own[series[late]], series[late], count, pooled.levels)
    misses = f"validation coverage off nominal by {own_miss:.3f} per series vs {pooled_miss:.3f} pooled"
    if own_miss < pooled_miss:
        by_series = _per_series(scores, series, count, pooled.levels)
        choice = f"intervals per series ({misses})"
        return dataclasses.replace(pooled, by_series=by_series, choice=choice)
    return dataclasses.replace(pooled, choice=f"intervals pooled over the {count} series ({misses})")


def _miss(covered: np.ndarray, series: np.ndarray, count: int, levels: list[float]) -> float:
    """Mean over series and levels of |coverage - nominal|, of (n, levels, T, k) covered cells of windows
    of `series`: a pooled band that covers calm series too much and volatile ones too little misses."""
    # coverage per window and level (n, levels) -> per series (S, levels)
    per_window = covered.mean(axis=(2, 3))
    coverage = np.stack([per_window[series == s].mean(axis=0) for s in range(count)])
    return float(np.abs(coverage - np.asarray(levels) / 100).mean())


def _rank_in_series(series: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(n,) each window's place among its series' windows, in the order they come."""
    order = np.argsort(series, kind="stable")
    rank = np.empty(len(series), dtype=np.int64)
    rank[order] = np.arange(len(series)) - np.repeat(np.cumsum(counts) - counts, counts)
    return rank


def _per_series(scores: np.ndarray, series: np.ndarray, count: int, levels: list[float]) -> np.ndarray:
    """(count, levels, T, k) split-conformal half-widths of each series' own (n_s, T, k) `scores`."""
    return np.stack([conformal_quantiles(scores[series == s], levels) for s in range(count)])
