"""Time splits of many series, per series: train / validation / test rows of each, and the windows of a split.

`data.split: last` holds out the last `test_steps` rows of every series as test and the `val_steps` before
them as validation (M4 style; both default to the horizon); `fractions` applies the fractions to each series.
A window's start row is an index into the panel's rows; no window crosses a series boundary.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bilstm.config import DataConfig, PipelineConfig
from bilstm.errors import DataValidationError
from bilstm.messages import sample
from bilstm.panel import Panel

Part = Literal["train", "val", "test"]


@dataclass(frozen=True)
class PanelSplit:
    """Per series s: train rows [offsets[s], train_end[s]), validation targets [train_end[s], val_end[s]),
    test targets [val_end[s], offsets[s + 1]); validation and test windows read `lookback` rows before."""

    offsets: np.ndarray  # (S + 1,)
    train_end: np.ndarray  # (S,) absolute rows
    val_end: np.ndarray  # (S,)
    lookback: int
    horizon: int

    @property
    def test_end(self) -> np.ndarray:
        return self.offsets[1:]

    def train_mask(self, rows: int) -> np.ndarray:
        """(rows,) true on every train row."""
        marks = np.zeros(rows + 1, dtype=np.int64)
        np.add.at(marks, self.offsets[:-1], 1)
        np.add.at(marks, self.train_end, -1)
        return np.cumsum(marks[:-1]) > 0

    def window_counts(self, part: Part) -> np.ndarray:
        first, last = self._first_last(part)
        return np.maximum(last - first + 1, 0)

    def starts(self, part: Part) -> np.ndarray:
        """The start row of every window of `part`, series after series: window i reads rows
        [start, start + lookback) and forecasts the `horizon` rows after."""
        first, _ = self._first_last(part)
        counts = self.window_counts(part)
        before = np.cumsum(counts) - counts
        # concatenated ranges first[s] .. first[s] + counts[s] - 1, without a loop over series
        return np.arange(counts.sum()) - np.repeat(before - first, counts)

    def _first_last(self, part: Part) -> tuple[np.ndarray, np.ndarray]:
        """First and last window start of each series whose targets all lie in `part`."""
        span = self.lookback + self.horizon
        if part == "train":
            return self.offsets[:-1], self.train_end - span
        end = self.val_end if part == "val" else self.test_end
        begin = self.train_end if part == "val" else self.val_end
        return begin - self.lookback, end - span


def split_panel(panel: Panel, config: DataConfig, lookback: int, horizon: int) -> tuple[Panel, PanelSplit]:
    """Per-series borders, checked to leave a window in every split of every series. A series that is too
    short is an error naming it, or, with `config.skip_short`, left out with a warning."""
    lengths = panel.lengths
    if config.split == "fractions":
        train = (lengths * config.train_fraction).astype(np.int64)
        test = (lengths * config.test_fraction).astype(np.int64)
        val = lengths - train - test
    else:
        test = np.full(len(lengths), config.test_steps or horizon)
        val = np.full(len(lengths), config.val_steps or horizon)
        train = lengths - val - test
    short = (train < lookback + horizon) | (np.minimum(val, test) < horizon)
    if short.any():
        need = _needed_rows(config, lookback, horizon)
        first = int(np.flatnonzero(short)[0])
        if not config.skip_short or short.all():
            more = f" (and {short.sum() - 1} more series)" if short.sum() > 1 else ""
            raise DataValidationError(
                f"{panel.source}: {panel.described(first)} has {lengths[first]} rows, too few for lookback"
                f" {lookback} + horizon {horizon} ({need}){more}; shorten the lookback"
                + (" or give more rows" if short.all() else ", or pass --skip-short to leave such series out")
            )
        shown = ", ".join(sample(i) for i in panel.ids[short][:5])
        warnings.warn(
            f"{panel.source}: left out {short.sum()} series too short for lookback {lookback} + horizon"
            f" {horizon} ({need}): {shown}{' ...' if short.sum() > 5 else ''}",
            stacklevel=2,
        )
        keep = ~short
        panel, train, val = panel.subset(keep), train[keep], val[keep]
    starts = panel.offsets[:-1]
    split = PanelSplit(panel.offsets, starts + train, starts + train + val, lookback, horizon)
    return panel, split


def _needed_rows(config: DataConfig, lookback: int, horizon: int) -> str:
    if config.split == "fractions":
        return f"needs {lookback + horizon} train rows and {horizon} validation and test rows"
    held_out = (config.val_steps or horizon) + (config.test_steps or horizon)
    return f"needs at least {lookback + horizon + held_out} rows"


def check_targets_vary(panel: Panel, split: PanelSplit) -> None:
    """A target constant over a series' train rows is refused, naming the series."""
    mask = split.train_mask(len(panel.frame))
    train = panel.frame.loc[mask, panel.target_columns]
    spread = train.groupby(panel.row_series[mask]).agg(np.ptp)
    flat = spread[(spread == 0).any(axis=1)]
    if len(flat):
        series = int(flat.index[0])
        column = flat.columns[(flat.iloc[0] == 0).to_numpy()][0]
        more = f" (and {len(flat) - 1} more series)" if len(flat) > 1 else ""
        raise DataValidationError(
            f"{panel.source}: {panel.described(series)} has a constant target {column!r} in its train rows"
            f"{more}; there is nothing to learn: drop that series or fix its values"
        )


def checked_panel_split(panel: Panel, config: PipelineConfig) -> tuple[Panel, PanelSplit]:
    """The split of a resolved `config`, checked to leave a window in every split of every series and a
    target that varies over each series' train rows."""
    panel, split = split_panel(panel, config.data, config.window.lookback, config.window.horizon)
    check_targets_vary(panel, split)
    return panel, split
