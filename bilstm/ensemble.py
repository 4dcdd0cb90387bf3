"""Ensembles (`model.ensemble`): networks that differ by seed, lookback and loss, trained one after another
on the same windows and forecasting as one, by the median or the mean of their forecasts.

The windows hold the longest member lookback (`window.lookback`); a member of a shorter one reads their last
rows. The members are the grid `model.ensemble_lookbacks` (taken in turn) x `model.ensemble_losses` (after
each round of lookbacks), seeds `train.seed`, `train.seed + 1`, ... : 6 members of lookbacks [168, 336] and
losses [mae, mse] are 168/mae, 336/mae, 168/mse, 336/mse, 168/mae, 336/mae.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from bilstm.config import ModelConfig, TrainConfig


@dataclass(frozen=True)
class Member:
    """What sets one member apart."""

    seed: int
    lookback: int
    loss: str

    def train_config(self, train: TrainConfig) -> TrainConfig:
        return train.model_copy(update={"seed": self.seed, "loss": self.loss})


def member_lookbacks(model: ModelConfig, lookback: int) -> list[int]:
    """Each member's lookback, in member order: enough to rebuild a saved ensemble's networks."""
    lookbacks = model.ensemble_lookbacks or [lookback]
    return [lookbacks[i % len(lookbacks)] for i in range(model.ensemble)]


def plan_members(model: ModelConfig, train: TrainConfig, lookback: int) -> list[Member]:
    """The members of `model.ensemble` networks over windows of `lookback` rows."""
    rounds = max(1, len(model.ensemble_lookbacks))
    losses = model.ensemble_losses or [train.loss]
    return [
        Member(train.seed + i, member_lookback, losses[(i // rounds) % len(losses)])
        for i, member_lookback in enumerate(member_lookbacks(model, lookback))
    ]


class Ensemble(nn.Module):
    """Member networks whose forecasts combine by median (with an even count: the mean of the middle two)
    or by mean; the choice is state (`median`), so a saved ensemble forecasts as it was validated."""

    def __init__(self, members: list[nn.Module], median: bool = True) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("median", torch.tensor(median))

    @property
    def config(self) -> ModelConfig:
        return self.members[0].config

    def forward(
        self, x: torch.Tensor, series: torch.Tensor | None = None, static: torch.Tensor | None = None
    ) -> torch.Tensor:
        return combine(self.outputs(x, series, static), bool(self.median))

    def outputs(
        self, x: torch.Tensor, series: torch.Tensor | None = None, static: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(M, B, T) or (M, B, T, k): every member's forecast."""
        return torch.stack([member(x, series, static) for member in self.members])


def combine(outputs: torch.Tensor, median: bool) -> torch.Tensor:
    """(M, ...) member forecasts -> (...) their median or mean."""
    return torch.quantile(outputs, 0.5, dim=0) if median else outputs.mean(dim=0)


def choose_combination(
    member_outputs: torch.Tensor, targets: torch.Tensor, loss_fn: Callable[..., torch.Tensor]
) -> tuple[bool, dict[str, float]]:
    """Median or mean, whichever forecasts the validation `targets` with the lower loss (the median on a
    tie: it shrugs off one member gone astray), and both losses."""
    losses = {
        name: float(loss_fn(combine(member_outputs, median).reshape(targets.shape), targets))
        for name, median in (("median", True), ("mean", False))
    }
    return losses["median"] <= losses["mean"], losses
