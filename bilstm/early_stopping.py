"""Early stopping on the validation loss: the best loss so far, the starting weights' included, its epoch
and a snapshot of its weights, and the epochs since it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class EarlyStopping:
    """Training stops after `patience` epochs without a better validation loss; `best_state` is restored."""

    patience: int
    best_loss: float
    best_state: dict[str, torch.Tensor]
    best_epoch: int = 0  # 0: the starting weights
    bad_epochs: int = 0  # epochs since the best one

    def update(self, epoch: int, val_loss: float, model: nn.Module) -> None:
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            self.best_state = snapshot(model)
        else:
            self.bad_epochs += 1

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights that later training steps leave alone."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
