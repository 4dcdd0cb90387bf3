"""Ridge regression in closed form, its penalty chosen on validation rows: the one linear fit behind the
highway's warm start (`BiLSTMNet.fit_highway`) and the benchmarks' linear floor.

Rows x (N, L) -> targets y (N, T), float64, streamed in batches; an intercept; penalties per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

PENALTIES = (1e-3, 1e-2, 1e-1, 1.0)  # per row: scale-free in the number of rows

Rows = tuple[torch.Tensor, torch.Tensor]  # x (N, L), y (N, T), float64


@dataclass
class RidgeFit:
    """y ≈ x @ weight + bias."""

    weight: torch.Tensor  # (L, T)
    bias: torch.Tensor  # (T,)
    penalty: float

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight + self.bias

    def mse(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return float(((self.predict(x) - y) ** 2).mean())


@torch.no_grad()
def fit_ridge(
    train: Iterable[Rows], validation: Iterable[Rows] = (), penalties: Sequence[float] = PENALTIES
) -> RidgeFit:
    """The ridge regression of y on x (centred, so the intercept is not penalised).

    Args:
        train: (x (N, L), y (N, T)) float64 batches to fit on, read once.
        validation: batches that pick the penalty with the lowest MSE; without any, the first is used.
        penalties: ridge penalties per row (the penalty on the weights is `penalty * N`).

    Returns:
        The fit with the chosen penalty.
    """
    rows, xtx, xty, sum_x, sum_y = 0, 0.0, 0.0, 0.0, 0.0
    for x, y in train:
        xtx = xtx + x.T @ x
        xty = xty + x.T @ y
        sum_x = sum_x + x.sum(0)
        sum_y = sum_y + y.sum(0)
        rows += len(x)
    if not rows:
        raise ValueError("ridge regression without any training rows: give it at least one window")
    mean_x, mean_y = sum_x / rows, sum_y / rows
    centred_xtx = xtx - rows * torch.outer(mean_x, mean_x)
    centred_xty = xty - rows * torch.outer(mean_x, mean_y)

    def solve(penalty: float) -> RidgeFit:
        eye = torch.eye(len(centred_xtx))
        weight = torch.linalg.solve(centred_xtx + penalty * rows * eye, centred_xty)
        # weight -> (L, T)
        return RidgeFit(weight, mean_y - mean_x @ weight, penalty)

    held_out = list(validation)
    if not held_out:
        return solve(penalties[0])
    x_val = torch.cat([x for x, _ in held_out])
    y_val = torch.cat([y for _, y in held_out])
    return min((solve(penalty) for penalty in penalties), key=lambda fit: fit.mse(x_val, y_val))
