"""Sliding windows over a scaled series, built as strided views: the series is never copied per window.

A `Windows` holds the series tensor (on the training device) and hands out batches by window index: inputs
are all columns of rows [i, i + lookback), targets the last `n_targets` columns of the next `horizon` rows.
Only a batch is ever materialised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Windows:
    """Every window of `series` (stride 1): len(series) - lookback - horizon + 1 of them."""

    series: torch.Tensor  # (rows, C), features first, targets last
    lookback: int
    horizon: int
    n_targets: int

    def __post_init__(self) -> None:
        if len(self) < 1:
            raise ValueError(
                f"a series of {len(self.series)} rows has no window of lookback {self.lookback}"
                f" + horizon {self.horizon}"
            )

    def __len__(self) -> int:
        return self.series.shape[0] - self.lookback - self.horizon + 1

    @property
    def inputs(self) -> torch.Tensor:
        """All input windows as a view: (N, L, C)."""
        # unfold -> (N, C, L): a view whose last axis steps through the window
        return self.series[: len(self) + self.lookback - 1].unfold(0, self.lookback, 1).transpose(1, 2)

    @property
    def targets(self) -> torch.Tensor:
        """All target windows as a view: (N, T, k) for k target columns."""
        tail = self.series[self.lookback :, self.series.shape[1] - self.n_targets :]
        return tail.unfold(0, self.horizon, 1).transpose(1, 2)

    def batch(self, index: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
        """Contiguous (B, L, C) inputs and targets for the windows at `index`: (B, T), or (B, T, k)
        for k > 1 target columns (the model's output shape)."""
        targets = self.targets[index]
        if self.n_targets == 1:
            targets = targets.squeeze(-1)
        return self.inputs[index].contiguous(), targets.contiguous()

    def to(self, device: torch.device | str) -> Windows:
        return Windows(self.series.to(device), self.lookback, self.horizon, self.n_targets)


def make_windows(values: np.ndarray, lookback: int, horizon: int, n_targets: int) -> Windows:
    """Windows over (rows, C) scaled values whose last `n_targets` columns are the targets."""
    series = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    return Windows(series, lookback, horizon, n_targets)


def numpy_windows(values: np.ndarray, lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, L, C) input and (N, T, C) target views of a numpy array, for evaluation and baselines."""
    views = np.lib.stride_tricks.sliding_window_view(values, lookback + horizon, axis=0)
    # views: (N, C, L + T) -> (N, L + T, C)
    views = views.transpose(0, 2, 1)
    return views[:, :lookback], views[:, lookback:]
