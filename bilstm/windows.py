"""Sliding windows over a scaled series, built as strided views: the series is never copied per window.

A `Windows` holds the series tensor (on the training device) and hands out batches by window index: inputs
are all columns of rows [i, i + lookback), targets the last `n_targets` columns of the next `horizon` rows.
With `ahead` = horizon (a model reading covariates known in advance), inputs run over the horizon's rows too:
the network reads only the known columns there (`BiLSTMNet`), never the targets.
Only a batch is ever materialised. Over the series of a table laid end to end, `starts` lists the rows where
a window may start, so that no window crosses from one series into the next (`split_windows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from bilstm.split import Split


@dataclass
class Windows:
    """Every window of `series` (stride 1): len(series) - lookback - horizon + 1 of them, or those that
    start at the rows `starts`."""

    series: torch.Tensor  # (rows, C), features first, targets last
    lookback: int
    horizon: int
    n_targets: int
    starts: torch.Tensor | None = None  # (N,) int64 start rows; None: every row that starts a whole window
    # (S + 1,) window offsets of S series: training draws a series, then one of its windows; None: any window
    groups: torch.Tensor | None = None
    keys: torch.Tensor | None = None  # (rows,) int64 series number of each row, for a series embedding
    window_series: np.ndarray | None = None  # (N,) the series number of each window, where known
    # rows after the lookback the inputs run over: the horizon's, for covariates known in advance
    ahead: int = 0
    static: torch.Tensor | None = None  # (rows, D) float32 each row's series' static columns, encoded

    def __post_init__(self) -> None:
        if len(self) < 1:
            raise ValueError(
                f"a series of {len(self.series)} rows has no window of lookback {self.lookback}"
                f" + horizon {self.horizon}"
            )

    def __len__(self) -> int:
        if self.starts is not None:
            return len(self.starts)
        return self._every_start()

    def _every_start(self) -> int:
        return self.series.shape[0] - self.lookback - self.horizon + 1

    def _all_inputs(self) -> torch.Tensor:
        # unfold -> (N, C, L): a view whose last axis steps through the window
        length = self.lookback + self.ahead
        rows = self._every_start() + length - 1
        return self.series[:rows].unfold(0, length, 1).transpose(1, 2)

    def _all_targets(self) -> torch.Tensor:
        tail = self.series[self.lookback :, self.series.shape[1] - self.n_targets :]
        return tail.unfold(0, self.horizon, 1).transpose(1, 2)

    @property
    def inputs(self) -> torch.Tensor:
        """All input windows: (N, L + ahead, C); a view, or a copy of the selected ones where `starts` is
        set."""
        inputs = self._all_inputs()
        return inputs if self.starts is None else inputs[self.starts]

    @property
    def targets(self) -> torch.Tensor:
        """All target windows: (N, T, k) for k target columns; a view, or a copy where `starts` is set."""
        targets = self._all_targets()
        return targets if self.starts is None else targets[self.starts]

    def draw(self, generator: torch.Generator) -> torch.Tensor:
        """The windows of one training epoch, as indices: a permutation of all, or with `groups` as many
        draws of a uniformly chosen series' uniformly chosen window (with replacement)."""
        if self.groups is None:
            return torch.randperm(len(self), generator=generator)
        counts = (self.groups[1:] - self.groups[:-1]).double()
        series = torch.randint(len(counts), (len(self),), generator=generator)
        within = (torch.rand(len(self), generator=generator, dtype=torch.float64) * counts[series]).long()
        return self.groups[series] + within

    def series_of(self, index: torch.Tensor | slice) -> torch.Tensor | None:
        """The series number of the windows at `index`; None without `keys`."""
        if self.keys is None:
            return None
        rows = index if self.starts is None else self.starts[index]
        return self.keys[rows]

    def static_of(self, index: torch.Tensor | slice) -> torch.Tensor | None:
        """(B, D) the encoded static columns of the windows at `index`; None without `static`."""
        if self.static is None:
            return None
        rows = index if self.starts is None else self.starts[index]
        return self.static[rows]

    def batch(self, index: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
        """Contiguous (B, L, C) inputs and targets for the windows at `index`: (B, T), or (B, T, k)
        for k > 1 target columns (the model's output shape)."""
        rows = index if self.starts is None else self.starts[index]
        targets = self._all_targets()[rows]
        if self.n_targets == 1:
            targets = targets.squeeze(-1)
        return self._all_inputs()[rows].contiguous(), targets.contiguous()

    def to(self, device: torch.device | str) -> Windows:
        starts = None if self.starts is None else self.starts.to(device)
        series, keys = self.series.to(device), None if self.keys is None else self.keys.to(device)
        windows = Windows(series, self.lookback, self.horizon, self.n_targets, starts, self.groups, keys)
        windows.window_series, windows.ahead = self.window_series, self.ahead
        windows.static = None if self.static is None else self.static.to(device)
        return windows


def make_windows(
    values: np.ndarray,
    lookback: int,
    horizon: int,
    n_targets: int,
    starts: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    keys: np.ndarray | None = None,
    ahead: int = 0,
    static: np.ndarray | None = None,
) -> Windows:
    """Windows over (rows, C) scaled values whose last `n_targets` columns are the targets; only those
    starting at `starts` where given, drawn for training series first by the window offsets `groups`, each
    row of the series number `keys` where given (a series embedding reads them); inputs running `ahead`
    rows past the lookback; `static`: (rows, D) each row's encoded static columns."""
    series = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    static_rows = None if static is None else torch.from_numpy(np.ascontiguousarray(static, np.float32))

    def tensor(array: np.ndarray | None) -> torch.Tensor | None:
        return None if array is None else torch.from_numpy(np.asarray(array, dtype=np.int64))

    return Windows(
        series,
        lookback,
        horizon,
        n_targets,
        tensor(starts),
        tensor(groups),
        tensor(keys),
        ahead=ahead,
        static=static_rows,
    )


def split_windows(
    scaled: np.ndarray,
    split: Split,
    n_targets: int,
    uniform_series: bool = False,
    keys: np.ndarray | None = None,
    ahead: int = 0,
    static: np.ndarray | None = None,
) -> tuple[Windows, Windows]:
    """Train and validation windows of every series of `split` over the (rows, C) scaled values: no window
    reads a row past its split or crosses into another series. With `uniform_series` (and more than one
    series: one would only be drawn with replacement) training draws a series first, then one of its
    windows; `keys`: each row's series number, for a series embedding; `ahead`: inputs over the horizon's
    rows too (covariates known in advance); `static`: (rows, D) each row's encoded static columns. Each
    window knows its series."""
    groups = None
    if uniform_series and len(split.first) > 1:
        groups = np.concatenate([[0], np.cumsum(split.window_counts("train"))])
    lookback, horizon = split.lookback, split.horizon
    train = make_windows(
        scaled, lookback, horizon, n_targets, split.starts("train"), groups, keys, ahead, static
    )
    val = make_windows(scaled, lookback, horizon, n_targets, split.starts("val"), None, keys, ahead, static)
    for windows, part in ((train, "train"), (val, "val")):
        windows.window_series = np.repeat(np.arange(len(split.first)), split.window_counts(part))
    return train, val


def numpy_windows(values: np.ndarray, lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, L, C) input and (N, T, C) target views of a numpy array, for evaluation and baselines."""
    views = np.lib.stride_tricks.sliding_window_view(values, lookback + horizon, axis=0)
    # views: (N, C, L + T) -> (N, L + T, C)
    views = views.transpose(0, 2, 1)
    return views[:, :lookback], views[:, lookback:]
