"""The training loop: `fit(model, train, val, config, on_epoch_end=None, checkpoint=None) -> TrainingLog` runs
`train_epoch` (Adam on MSE or Huber, batches sliced from windows on the device, gradient clipping, bf16
autocast on CUDA) epoch after epoch, with early stopping on the VALIDATION loss (`EarlyStopping`, the best
weights restored), a checkpoint after every epoch that a later call resumes from, and a progress bar.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bilstm.config import TrainConfig
from bilstm.early_stopping import EarlyStopping, snapshot
from bilstm.errors import BadInputError
from bilstm.progress import epoch_progress
from bilstm.windows import Windows

log = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float]], None]


class TrainingDivergedError(BadInputError):
    """Every epoch's training loss was NaN or infinite: the settings (a learning rate far too high) leave
    nothing to keep, and keeping the starting weights would pass off a warm start as a trained model."""


@dataclass
class TrainingLog:
    """Per-epoch losses (index 0 = epoch 1) and what the run cost."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)  # at the end of each epoch
    best_epoch: int = 0  # 0: no epoch beat the starting weights on validation, which are kept
    start_val_loss: float = math.inf  # of the weights training started from
    stopped_early: bool = False
    resumed_from_epoch: int = 0  # epochs already done when this call started
    train_seconds: float = 0.0  # pure training + validation time, all calls together
    samples_seen: int = 0
    members: list[TrainingLog] = field(default_factory=list)  # an ensemble's: each member's own log
    combination_losses: dict[str, float] = field(default_factory=dict)  # an ensemble's validation loss by
    # median and by mean

    @property
    def epochs_run(self) -> int:
        return len(self.train_loss)

    @property
    def best_val_loss(self) -> float:
        """The validation loss of the weights kept."""
        return self.val_loss[self.best_epoch - 1] if self.best_epoch else self.start_val_loss

    @property
    def samples_per_s(self) -> float:
        return self.samples_seen / self.train_seconds if self.train_seconds else 0.0


def loss_function(name: str) -> nn.Module:
    """`train.loss`'s module: mse, huber (delta 1), mae or log_mae."""
    return {"mse": nn.MSELoss, "huber": nn.HuberLoss, "mae": nn.L1Loss, "log_mae": LogAbsoluteError}[name]()


class LogAbsoluteError(nn.Module):
    """The mean of |log forecast - log target|: a relative error, symmetric in over- and under-forecasts
    as sMAPE is, for positive series; a value at or below 0 counts as 1e-5 (a forecast there gets no
    gradient, so it suits networks whose forecasts stay positive: `model.instance_norm` log_ratio)."""

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (torch.log(outputs.clamp(min=1e-5)) - torch.log(targets.clamp(min=1e-5))).abs().mean()


def flush_denormals() -> None:
    """Read subnormal floats (below 1e-38) as zero on the CPU, for this process. As training drives small
    weights, gradients and Adam's moments towards zero, arithmetic on subnormals slows x86 down many-fold,
    more with every epoch (the README's Speed section and bench/denormals.py have the figures)."""
    torch.set_flush_denormal(True)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"train.device={name!r} but CUDA is not available here; use 'auto' or 'cpu'")
    return device


def _autocast(device: torch.device, amp: bool):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda")


def _outputs(
    model: nn.Module, x: torch.Tensor, series: torch.Tensor | None, static: torch.Tensor | None = None
) -> torch.Tensor:
    """The model on a batch; the windows' series numbers go to a model with a series embedding, their
    static columns to one that reads them."""
    if static is not None:
        return model(x, series, static)
    return model(x) if series is None else model(x, series)


@torch.no_grad()
def predict(
    model: nn.Module,
    inputs: torch.Tensor | np.ndarray,
    series: torch.Tensor | np.ndarray | None = None,
    batch_size: int = 1024,
    static: torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """Model outputs for (N, L, F) inputs (a tensor or a strided numpy view), in eval mode and float32,
    batch by batch, on the CPU; only one batch of inputs is copied at a time. `series`: (N,) the windows'
    series numbers, for a model with a series embedding (-1: a series it was not trained on); `static`:
    (N, D) their encoded static columns, for a model that reads them."""
    flush_denormals()
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, len(inputs), batch_size):
        # a copy of the batch: a strided view may be read-only, which torch does not take without a warning
        batch = torch.as_tensor(np.array(inputs[start : start + batch_size], order="C")).to(device)
        keys = None if series is None else torch.as_tensor(series[start : start + batch_size]).to(device)
        own = None if static is None else torch.as_tensor(static[start : start + batch_size]).to(device)
        outputs.append(_outputs(model, batch, keys, own).float().cpu())
    model.train(was_training)
    return torch.cat(outputs)


@torch.no_grad()
def evaluate_loss(
    model: nn.Module, windows: Windows, loss_fn: nn.Module, batch_size: int, amp: bool = False
) -> float:
    """Mean loss over every window (no dropped last batch)."""
    model.eval()
    total = 0.0
    for start in range(0, len(windows), batch_size):
        index = slice(start, start + batch_size)
        x, y = windows.batch(index)
        with _autocast(x.device, amp):
            outputs = _outputs(model, x, windows.series_of(index), windows.static_of(index))
            total += loss_fn(outputs.float(), y).item() * len(x)
    model.train()
    return total / len(windows)


def train_epoch(
    model: nn.Module,
    train: Windows,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    loss_fn: nn.Module,
    config: TrainConfig,
    order: torch.Generator,
    on_step: Callable[[], None] = lambda: None,
) -> float:
    """One pass over the train windows in the order drawn from `order` (as many windows as there are, series
    first, where the windows are grouped by series); returns the mean train loss."""
    permutation = train.draw(order).to(train.series.device)
    total = 0.0
    for start in range(0, len(train), config.batch_size):
        index = permutation[start : start + config.batch_size]
        x, y = train.batch(index)
        with _autocast(x.device, config.amp):
            loss = loss_fn(_outputs(model, x, train.series_of(index), train.static_of(index)).float(), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        total += loss.item() * len(x)
        on_step()
    return total / len(train)


def fit(
    model: nn.Module,
    train: Windows,
    val: Windows,
    config: TrainConfig,
    on_epoch_end: EpochCallback | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> TrainingLog:
    """Train `model` in place and return its `TrainingLog`; the best-validation weights are loaded at the end.
    Torch's CPU threads are the caller's to set (`config.threads`: `bilstm.pipeline.fit_forecaster`).

    Args:
        model: the network, on any device; it is moved to `config.device`.
        train, val: windows of the scaled train and validation rows.
        config: epochs, batch size, learning rate, loss, clipping, patience, seed, device.
        on_epoch_end: called as `on_epoch_end(epoch, {"train_loss": ..., "val_loss": ..., "lr": ...})`,
            epoch from 1.
        checkpoint: a file written after every epoch; if it exists, training resumes from it.
        progress: show a progress bar; None = only when stderr is a terminal.
    """
    flush_denormals()
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    model.to(device)
    train, val = train.to(device), val.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = math.ceil(len(train) / config.batch_size)
    scheduler = _scheduler(optimizer, config, steps)
    loss_fn = loss_function(config.loss)
    order = torch.Generator().manual_seed(config.seed)

    def val_loss() -> float:
        return evaluate_loss(model, val, loss_fn, config.batch_size * 4, config.amp)

    if checkpoint and Path(checkpoint).exists():
        training_log, stopping = _resume(checkpoint, model, optimizer, scheduler, order, config.patience)
    else:
        # the starting weights are a candidate too: a warm start that training cannot beat is kept
        training_log = TrainingLog(start_val_loss=val_loss())
        stopping = EarlyStopping(config.patience, training_log.start_val_loss, snapshot(model))
    training_log.resumed_from_epoch = training_log.epochs_run
    show = sys.stderr.isatty() if progress is None else progress
    model.train()
    with epoch_progress(show, config.epochs, steps) as bar:
        bar.skip_epochs(training_log.epochs_run)
        while training_log.epochs_run < config.epochs and not training_log.stopped_early:
            started = time.perf_counter()
            train_loss = train_epoch(model, train, optimizer, scheduler, loss_fn, config, order, bar.advance)
            losses = {"train_loss": train_loss, "val_loss": val_loss(), "lr": scheduler.get_last_lr()[0]}
            training_log.train_seconds += time.perf_counter() - started
            training_log.samples_seen += len(train)
            training_log.train_loss.append(train_loss)
            training_log.val_loss.append(losses["val_loss"])
            training_log.learning_rate.append(losses["lr"])
            epoch = training_log.epochs_run
            stopping.update(epoch, losses["val_loss"], model)
            training_log.best_epoch = stopping.best_epoch
            training_log.stopped_early = stopping.should_stop and epoch < config.epochs
            bar.epoch_done(epoch, train_loss, losses["val_loss"])
            if checkpoint:
                _save(checkpoint, model, optimizer, scheduler, order, training_log, stopping)
            if on_epoch_end:
                on_epoch_end(epoch, losses)
    _check_converged(training_log, config)
    model.load_state_dict(stopping.best_state)
    model.eval()
    return training_log


def _check_converged(training_log: TrainingLog, config: TrainConfig) -> None:
    if training_log.train_loss and not np.isfinite(training_log.train_loss).any():
        raise TrainingDivergedError(
            f"training diverged: the training loss was NaN or infinite in all {len(training_log.train_loss)}"
            f" epochs (train.lr={config.lr:g}, train.loss={config.loss}); lower train.lr, or check the"
            " data's scale"
        )


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """The per-step learning-rate schedule over all `config.epochs` (early stopping may end it sooner)."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def _save(
    path, model, optimizer, scheduler, order, training_log: TrainingLog, stopping: EarlyStopping
) -> None:
    """Write the checkpoint atomically (a killed process never leaves a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "order": order.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history": asdict(training_log),  # the key of checkpoints written before the TrainingLog rename
        "best_state": stopping.best_state,
        "bad_epochs": stopping.bad_epochs,
    }
    partial = path.with_suffix(path.suffix + ".partial")
    try:
        # a file of our own, closed however torch's writer ends: an unlinked file holds its space while open
        with open(partial, "wb") as file:
            torch.save(state, file)
        os.replace(partial, path)
    except BaseException:
        # a full disk: give the space back at once, before the run is marked FAILED; the last whole
        # checkpoint stays for the next run to resume
        partial.unlink(missing_ok=True)
        raise


def _resume(path, model, optimizer, scheduler, order, patience: int) -> tuple[TrainingLog, EarlyStopping]:
    state = torch.load(path, map_location=next(model.parameters()).device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    order.set_state(state["order"].cpu())
    torch.set_rng_state(state["torch_rng"].cpu())
    training_log = TrainingLog(**state["history"])
    best_loss = min([training_log.start_val_loss, *training_log.val_loss])
    stopping = EarlyStopping(
        patience, best_loss, state["best_state"], training_log.best_epoch, state["bad_epochs"]
    )
    log.info("resuming training from checkpoint %s after epoch %d", path, training_log.epochs_run)
    return training_log, stopping
