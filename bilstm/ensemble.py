"""Ensembles (`model.ensemble`): networks that differ by seed, lookback and loss, trained one after another
on the same windows and forecasting as one, by the median or the mean of their forecasts.

The windows hold the longest member lookback (`window.lookback`); a member of a shorter one reads their last
rows. The members are the grid `model.ensemble_lookbacks` (taken in turn) x `model.ensemble_losses` (after
each round of lookbacks) x `model.ensemble_norms` (after each round of both), seeds `train.seed`,
`train.seed + 1`, ... : 6 members of lookbacks [168, 336] and losses [mae, mse] are 168/mae, 336/mae,
168/mse, 336/mse, 168/mae, 336/mae.
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
    norm: str  # its model.instance_norm

    def train_config(self, train: TrainConfig) -> TrainConfig:
        return train.model_copy(update={"seed": self.seed, "loss": self.loss})

    def model_config(self, model: ModelConfig) -> ModelConfig:
        return model.model_copy(update={"instance_norm": self.norm})


def plan_members(model: ModelConfig, train: TrainConfig, lookback: int) -> list[Member]:
    """The members of `model.ensemble` networks over windows of `lookback` rows: the lookbacks in turn,
    the losses after each round of lookbacks, the normalisations after each round of both."""
    lookbacks = model.ensemble_lookbacks or [lookback]
    losses = model.ensemble_losses or [train.loss]
    norms = model.ensemble_norms or [model.instance_norm]
    members = []
    for i in range(model.ensemble):
        loss = losses[(i // len(lookbacks)) % len(losses)]
        norm = norms[(i // (len(lookbacks) * len(losses))) % len(norms)]
        members.append(Member(train.seed + i, lookbacks[i % len(lookbacks)], loss, norm))
    return members


def build(
    model: ModelConfig,
    lookback: int,
    network: Callable[[int, ModelConfig], nn.Module],
    train: TrainConfig | None = None,
) -> nn.Module:
    """`network(lookback, model)`, or with `model.ensemble` above 1 the `Ensemble` of every member's
    `network(member lookback, member model config)`; given `train`, torch is seeded with each member's seed
    before it is made, so its initial weights are a function of that seed (a bundle being read needs none)."""
    if model.ensemble == 1:
        return network(lookback, model)
    members = []
    for member in plan_members(model, train or TrainConfig(), lookback):
        if train is not None:
            torch.manual_seed(member.seed)
        members.append(network(member.lookback, member.model_config(model)))
    return Ensemble(members)


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
