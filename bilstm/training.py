"""The training loop: `fit(model, train, val, config, on_epoch_end=None, checkpoint=None) -> History`.

Adam on MSE (or Huber), batches sliced from windows already on the device, gradient clipping, early
stopping on the VALIDATION loss with the best weights restored, bf16 autocast on CUDA, a checkpoint after
every epoch that a later call resumes from, and a progress bar on a terminal.
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
from bilstm.progress import epoch_progress
from bilstm.windows import Windows

log = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class History:
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

    @property
    def epochs_run(self) -> int:
        return len(self.train_loss)

    @property
    def samples_per_s(self) -> float:
        return self.samples_seen / self.train_seconds if self.train_seconds else 0.0


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"train.device={name!r} but CUDA is not available here; use 'auto' or 'cpu'")
    return device


def _autocast(device: torch.device, amp: bool):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda")


@torch.no_grad()
def predict(model: nn.Module, inputs: torch.Tensor | np.ndarray, batch_size: int = 1024) -> torch.Tensor:
    """Model outputs for (N, L, F) inputs (a tensor or a strided numpy view), in eval mode and float32,
    batch by batch, on the CPU; only one batch of inputs is copied at a time."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, len(inputs), batch_size):
        # a copy of the batch: a strided view may be read-only, which torch does not take without a warning
        batch = torch.as_tensor(np.array(inputs[start : start + batch_size], order="C")).to(device)
        outputs.append(model(batch).float().cpu())
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
        x, y = windows.batch(slice(start, start + batch_size))
        with _autocast(x.device, amp):
            total += loss_fn(model(x).float(), y).item() * len(x)
    model.train()
    return total / len(windows)


def fit(
    model: nn.Module,
    train: Windows,
    val: Windows,
    config: TrainConfig,
    on_epoch_end: EpochCallback | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> History:
    """Train `model` in place and return its history; the best-validation weights are loaded at the end.

    Args:
        model: the network, on any device; it is moved to `config.device`.
        train, val: windows of the scaled train and validation rows.
        config: epochs, batch size, learning rate, loss, clipping, patience, seed, device, threads.
        on_epoch_end: called as `on_epoch_end(epoch, {"train_loss": ..., "val_loss": ..., "lr": ...})`,
            epoch from 1.
        checkpoint: a file written after every epoch; if it exists, training resumes from it.
        progress: show a progress bar; None = only when stderr is a terminal.
    """
    # a recurrent step is many small ops: a second thread gains little on an idle machine and, when
    # another process shares the cores, its barriers wait on a descheduled thread (README: Speed)
    torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    model.to(device)
    train, val = train.to(device), val.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = math.ceil(len(train) / config.batch_size)
    scheduler = _scheduler(optimizer, config, steps)
    loss_fn = nn.MSELoss() if config.loss == "mse" else nn.HuberLoss()
    order = torch.Generator().manual_seed(config.seed)
    history, bad_epochs = History(), 0
    if checkpoint and Path(checkpoint).exists():
        history, best_state, bad_epochs = _resume(checkpoint, model, optimizer, scheduler, order)
    else:
        # the starting weights are a candidate too: a warm start that training cannot beat is kept
        history.start_val_loss = evaluate_loss(model, val, loss_fn, config.batch_size * 4, config.amp)
        best_state = _snapshot(model)
    history.resumed_from_epoch = history.epochs_run
    show = sys.stderr.isatty() if progress is None else progress
    model.train()
    with epoch_progress(show, config.epochs, steps) as bar:
        bar.skip_epochs(history.epochs_run)
        while history.epochs_run < config.epochs and not history.stopped_early:
            started = time.perf_counter()
            permutation = torch.randperm(len(train), generator=order).to(device)
            total = 0.0
            for step in range(steps):
                x, y = train.batch(permutation[step * config.batch_size : (step + 1) * config.batch_size])
                with _autocast(device, config.amp):
                    loss = loss_fn(model(x).float(), y)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                total += loss.item() * len(x)
                bar.advance()
            train_loss = total / len(train)
            val_loss = evaluate_loss(model, val, loss_fn, config.batch_size * 4, config.amp)
            history.train_seconds += time.perf_counter() - started
            history.samples_seen += len(train)
            history.train_loss.append(train_loss)
            history.val_loss.append(val_loss)
            history.learning_rate.append(scheduler.get_last_lr()[0])
            epoch = history.epochs_run
            if val_loss < min([history.start_val_loss, *history.val_loss[:-1]]):
                history.best_epoch, bad_epochs = epoch, 0
                best_state = _snapshot(model)
            else:
                bad_epochs += 1
                history.stopped_early = bad_epochs >= config.patience and epoch < config.epochs
            bar.epoch_done(epoch, train_loss, val_loss)
            if checkpoint:
                _save(checkpoint, model, optimizer, scheduler, order, history, best_state, bad_epochs)
            if on_epoch_end:
                on_epoch_end(
                    epoch, {"train_loss": train_loss, "val_loss": val_loss, "lr": history.learning_rate[-1]}
                )
    model.load_state_dict(best_state)
    model.eval()
    return history


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """The per-step learning-rate schedule over all `config.epochs` (early stopping may end it sooner)."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def _save(path, model, optimizer, scheduler, order, history, best_state, bad_epochs) -> None:
    """Write the checkpoint atomically (a killed process never leaves a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "order": order.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history": asdict(history),
        "best_state": best_state,
        "bad_epochs": bad_epochs,
    }
    partial = path.with_suffix(path.suffix + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def _resume(path, model, optimizer, scheduler, order) -> tuple[History, dict | None, int]:
    state = torch.load(path, map_location=next(model.parameters()).device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    order.set_state(state["order"].cpu())
    torch.set_rng_state(state["torch_rng"].cpu())
    history = History(**state["history"])
    log.info("resuming training from checkpoint %s after epoch %d", path, history.epochs_run)
    return history, state["best_state"], state["bad_epochs"]
