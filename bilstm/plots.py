"""Figures of a training run: its loss curve and test forecasts against the actual values with their bands;
the best, median and worst of many series; a backtest's folds; a monitored model's realised error against
its band. (A batch forecast's figures: `bilstm.forecast_plots`.)

Built on `matplotlib.figure.Figure` directly (no pyplot, no GUI backend), so nothing ever blocks a pipeline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bilstm.data import SeriesTable
from bilstm.evaluation import Evaluation
from bilstm.plot_axes import FORECAST_COLOR, date_axis, in_zone, shade_bands
from bilstm.promise import Band
from bilstm.training import TrainingLog


def loss_curve(training_log: TrainingLog) -> Figure:
    """Train and validation loss per epoch; validation from epoch 0, the weights training started from."""
    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.add_subplot()
    epochs = range(1, training_log.epochs_run + 1)
    ax.plot(epochs, training_log.train_loss, marker="o", label="train")
    start = [training_log.start_val_loss] if np.isfinite(training_log.start_val_loss) else []
    val_epochs = range(1 - len(start), training_log.epochs_run + 1)
    ax.plot(val_epochs, start + training_log.val_loss, marker="o", label="validation")
    best = training_log.best_epoch
    kept = "starting weights kept (epoch 0)" if best == 0 else f"best (epoch {best})"
    ax.axvline(best, color="grey", linestyle="--", label=kept)
    ax.set(xlabel="epoch", ylabel="loss (scaled)", title="Training and validation loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    ax.grid(alpha=0.3)
    return figure


def forecast_plot(
    evaluation: Evaluation, target_names: list[str], windows: int = 4, timezone: str | None = None
) -> Figure:
    """The last `windows` non-overlapping test forecasts of the first target against the actual series, with
    their prediction intervals shaded where the forecaster has them; dates in `timezone`, the data's."""
    truth, forecast = evaluation.truth, evaluation.forecast
    horizon = truth.shape[1]
    # the stamps of every test target row: window i covers times[i : i + T]
    first = evaluation.first_rows
    times = in_zone(evaluation.times[first[0] : first[-1] + horizon], timezone)
    # the actual series: each window's first target, then the rest of the last window
    actual = np.concatenate([truth[:, 0, 0], truth[-1, 1:, 0]])
    starts = [len(truth) - 1 - i * horizon for i in range(windows) if len(truth) - 1 - i * horizon >= 0]
    shown = slice(min(starts), len(actual))
    figure = Figure(figsize=(10, 4), layout="constrained")
    ax = figure.add_subplot()
    ax.plot(times[shown], actual[shown], color="black", label=f"actual {target_names[0]}")
    for i, start in enumerate(sorted(starts)):
        span = slice(start, start + horizon)
        bands = {level: (lo[start, :, 0], hi[start, :, 0]) for level, (lo, hi) in evaluation.bands.items()}
        shade_bands(ax, times[span], bands, labelled=i == 0)
        label = "forecast" if i == 0 else None
        ax.plot(times[span], forecast[start, :, 0], color=FORECAST_COLOR, label=label)
        ax.axvline(times[start], color="grey", alpha=0.2)
    ax.set(title=f"Test forecasts of {target_names[0]} ({horizon} steps each)", ylabel=target_names[0])
    date_axis(ax, times)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def backtest_plot(folds: pd.DataFrame) -> Figure:
    """The model's scaled test MSE per backtest fold beside persistence and seasonal naive on the same
    windows, with the model's mean over the folds dashed."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    ax = figure.add_subplot()
    labels = [f"{row.fold}\n{row.test_start[:10]}" for row in folds.itertuples()]
    for column, label, style in (
        ("test_mse_scaled", "model", dict(marker="o", color="tab:orange", linewidth=2)),
        ("naive_test_mse_scaled", "persistence", dict(marker="s", color="grey")),
        ("seasonal_naive_test_mse_scaled", "seasonal naive", dict(marker="^", color="tab:blue")),
    ):
        ax.plot(labels, folds[column], label=label, **style)
    mean = folds["test_mse_scaled"].mean()
    ax.axhline(mean, color="tab:orange", linestyle="--", alpha=0.6, label=f"model mean {mean:.4f}")
    ax.set(xlabel="fold (first test day)", ylabel="test MSE (scaled)", title="Backtest: test MSE per fold")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.grid(alpha=0.3)
    return figure


def monitor_plot(
    times: pd.DatetimeIndex, errors: np.ndarray, persistence: np.ndarray, band: Band, degraded: bool
) -> Figure:
    """The scaled MSE of each monitored window over time (by its first target, `times` as the data shows
    them) beside persistence's, with the band the model promised for their mean (shaded), the threshold, and
    their realised mean."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    ax = figure.add_subplot()
    ax.plot(times, persistence, color="grey", alpha=0.5, linewidth=1, label="persistence, per window")
    ax.plot(times, errors, color="tab:orange", marker=".", linewidth=1, label="model, per window")
    if np.isfinite(band.low):  # a model registered before promises has a threshold only
        ax.axhspan(band.low, band.high, color="tab:green", alpha=0.15, label="promised mean (1st-99th pct)")
    ax.axhline(band.expected, color="tab:green", linestyle=":", label=f"promised {band.expected:.4f}")
    ax.axhline(band.threshold, color="tab:red", linestyle="--", label=f"threshold {band.threshold:.4f}")
    realised = float(errors.mean())
    ax.axhline(realised, color="black", label=f"realised mean {realised:.4f}")
    verdict = "degraded" if degraded else "healthy"
    ax.set(ylabel="MSE (scaled)", title=f"Realised error of the monitored windows: {verdict}")
    date_axis(ax, times)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small", ncol=2)
    ax.grid(alpha=0.3)
    return figure


def series_forecast_plot(evaluation: Evaluation, panel: SeriesTable, history: int = 96) -> Figure:
    """The best, the median and the worst series by test sMAPE: the last `history` rows before each one's
    first test window, its actual test values and the forecast (first target), one panel each."""
    by_series = evaluation.by_series.sort_values("smape", kind="stable")
    picks = {"best": 0, "median": len(by_series) // 2, "worst": len(by_series) - 1}
    figure = Figure(figsize=(10, 7), layout="constrained")
    axes = figure.subplots(len(picks), 1, squeeze=False)[:, 0]
    for ax, (label, position) in zip(axes, picks.items(), strict=True):
        row = by_series.iloc[position]
        number = int(np.flatnonzero(panel.ids == row[panel.series_column])[0])
        window = int(np.flatnonzero(evaluation.series == number)[0])
        first = int(evaluation.first_rows[window])
        before = slice(max(int(panel.offsets[number]), first - history), first)
        horizon = evaluation.truth.shape[1]
        target = panel.target_columns[0]
        times = in_zone(panel.frame.index, panel.timezone)
        ax.plot(times[before], panel.frame[target].to_numpy()[before], color="black", label="history")
        span = times[first : first + horizon]
        bands = {level: (lo[window, :, 0], hi[window, :, 0]) for level, (lo, hi) in evaluation.bands.items()}
        shade_bands(ax, span, bands, labelled=label == "best")
        ax.plot(span, evaluation.truth[window, :, 0], color="grey", label="actual")
        ax.plot(span, evaluation.forecast[window, :, 0], color=FORECAST_COLOR, label="forecast")
        ax.set_title(f"{label}: series {row[panel.series_column]} (sMAPE {row['smape']:.2f})")
        date_axis(ax, times[before.start : first + horizon])
        ax.grid(alpha=0.3)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    return figure
