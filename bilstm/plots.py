"""Figures for a run: the loss curve and the forecast against the actual values.

Built on `matplotlib.figure.Figure` directly (no pyplot, no GUI backend), so nothing ever blocks a pipeline.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bilstm.evaluation import Evaluation
from bilstm.training import History


def loss_curve(history: History) -> Figure:
    """Train and validation loss per epoch; validation from epoch 0, the weights training started from."""
    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.add_subplot()
    epochs = range(1, history.epochs_run + 1)
    ax.plot(epochs, history.train_loss, marker="o", label="train")
    start = [history.start_val_loss] if np.isfinite(history.start_val_loss) else []
    val_epochs = range(1 - len(start), history.epochs_run + 1)
    ax.plot(val_epochs, start + history.val_loss, marker="o", label="validation")
    best = history.best_epoch
    kept = "starting weights kept (epoch 0)" if best == 0 else f"best (epoch {best})"
    ax.axvline(best, color="grey", linestyle="--", label=kept)
    ax.set(xlabel="epoch", ylabel="loss (scaled)", title="Training and validation loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    ax.grid(alpha=0.3)
    return figure


def forecast_plot(evaluation: Evaluation, target_names: list[str], windows: int = 4) -> Figure:
    """The last `windows` non-overlapping test forecasts of the first target against the actual series."""
    truth, forecast, times = evaluation.truth, evaluation.forecast, evaluation.times
    horizon = truth.shape[1]
    # the actual series: each window's first target, then the rest of the last window
    actual = np.concatenate([truth[:, 0, 0], truth[-1, 1:, 0]])
    starts = [len(truth) - 1 - i * horizon for i in range(windows) if len(truth) - 1 - i * horizon >= 0]
    shown = slice(min(starts), len(actual))
    figure = Figure(figsize=(10, 4), layout="constrained")
    ax = figure.add_subplot()
    ax.plot(times[shown], actual[shown], color="black", label=f"actual {target_names[0]}")
    for i, start in enumerate(sorted(starts)):
        label = "forecast" if i == 0 else None
        ax.plot(times[start : start + horizon], forecast[start, :, 0], color="tab:orange", label=label)
        ax.axvline(times[start], color="grey", alpha=0.2)
    ax.set(title=f"Test forecasts of {target_names[0]} ({horizon} steps each)", ylabel=target_names[0])
    ax.legend()
    ax.grid(alpha=0.3)
    return figure
