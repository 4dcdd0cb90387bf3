"""Figures of a batch forecast: a target's recent history, the model's input window shaded, and the forecast
after it with its prediction bands; for a model of many series, the best, median and worst series by the
model's test sMAPE (else the first few by id), one panel each.

Built on `matplotlib.figure.Figure` directly (no pyplot, no GUI backend), so nothing ever blocks a pipeline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bilstm.plot_axes import FORECAST_COLOR, date_axis, shade_bands, stamp_text, table_bands


def forecast_ahead(history: pd.Series, forecast: pd.DataFrame, lookback: int, horizons: int = 10) -> Figure:
    """A target's recent history, then its forecast after it: the last `horizons` forecast lengths of
    history, or the whole input window where it is shorter, so that the forecast stays readable.

    Args:
        history: the target's observed values, indexed by time, named after the target.
        forecast: the forecast table indexed by the future times (zoned where the data is): the target's
            column and, where the model has them, its bands `<target>_lo_<level>` / `<target>_hi_<level>`.
        lookback: the model's input window, shaded where it is shown.
    """
    figure = Figure(figsize=(10, 4), layout="constrained")
    ax = figure.add_subplot()
    shown, origin = _draw_ahead(ax, history, forecast, lookback, horizons)
    ax.set_title(f"Forecast of {history.name} after the last {shown} steps, up to {stamp_text(origin)}")
    ax.set_ylabel(str(history.name))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return figure


def ranked_picks(by_series: pd.DataFrame, series_column: str, ids: np.ndarray, metric: str = "smape") -> dict:
    """{series id: 'best (test sMAPE 3.10)'} for the best, median and worst of `ids` by `metric` in a
    training run's `by_series` table (its series column and the metric); {} where none of `ids` is in it."""
    scored = by_series.assign(**{series_column: by_series[series_column].astype(str)})
    ranked = scored[scored[series_column].isin(ids)].sort_values(metric, kind="stable")
    if ranked.empty:
        return {}
    picks = {}
    for label, position in (("best", 0), ("median", len(ranked) // 2), ("worst", len(ranked) - 1)):
        row = ranked.iloc[position]
        picks.setdefault(row[series_column], f"{label} (test sMAPE {row[metric]:.2f})")
    return picks


def series_forecasts_ahead(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    series_column: str,
    lookback: int,
    count: int = 4,
    picks: dict | None = None,
) -> Figure:
    """`forecast_ahead` for the series of `picks` ({id: label}, `ranked_picks`), else the first `count` of a
    forecast of many (by id), one panel each.

    Args:
        history: every series' observed target, indexed by time: the series column and the target.
        forecast: the long forecast table indexed by the future times: the series column, the target and,
            where the model has them, its bands.
    """
    target = next(c for c in history.columns if c != series_column)
    ids = forecast[series_column].unique()
    labels = picks or {series: "" for series in ids[:count]}
    figure = Figure(figsize=(10, 1.2 + 2.4 * len(labels)), layout="constrained")
    axes = figure.subplots(len(labels), 1, squeeze=False)[:, 0]
    for i, (ax, (series, label)) in enumerate(zip(axes, labels.items(), strict=True)):
        own = history.loc[history[series_column].astype(str) == str(series), target]
        ahead = forecast[forecast[series_column].astype(str) == str(series)]
        shown, origin = _draw_ahead(ax, own, ahead, lookback, labelled=i == 0)
        ax.set_title(
            f"{label + ': ' if label else ''}series {series}: the last {shown} steps up to"
            f" {stamp_text(origin)}, then the forecast",
            fontsize="medium",
        )
        ax.set_ylabel(target)
    chosen = "best, median and worst by test sMAPE" if picks else "the first by id"
    figure.suptitle(f"Forecast of {target}: {len(labels)} of {len(ids)} series, {chosen}")
    figure.legend(loc="outside right upper", fontsize="small")
    return figure


def _draw_ahead(
    ax: Axes,
    history: pd.Series,
    forecast: pd.DataFrame,
    lookback: int,
    horizons: int = 10,
    labelled: bool = True,
) -> tuple[int, pd.Timestamp]:
    """Draw one target's recent history, input window, forecast and bands on `ax`: (the history rows shown,
    the last observation's stamp)."""
    target = str(history.name)
    horizon = len(forecast)
    recent = history.iloc[-min(lookback, horizons * horizon) :]
    if recent.index.tz is not None and forecast.index.tz is not None:  # the history shown in the data's zone
        recent = recent.tz_convert(forecast.index.tz)
    origin = recent.index[-1]
    start = recent.index[-min(lookback, len(recent))]
    cut = "" if len(recent) >= lookback else f", the last {len(recent)} shown"

    def label(text: str) -> str | None:
        return text if labelled else None

    ax.axvspan(start, origin, color="grey", alpha=0.12, label=label(f"model input ({lookback} steps{cut})"))
    ax.plot(recent.index, recent.to_numpy(), color="black", label=label("history"))
    # the forecast and its bands start at the last observation, so that history and forecast join
    joined = recent.index[-1:].append(forecast.index)
    last = recent.to_numpy()[-1:]
    bands = {
        level: (np.concatenate([last, lo]), np.concatenate([last, hi]))
        for level, (lo, hi) in table_bands(forecast, target).items()
    }
    shade_bands(ax, joined, bands, labelled)
    ax.plot(
        joined,
        np.concatenate([last, forecast[target].to_numpy()]),
        color=FORECAST_COLOR,
        marker=".",
        markevery=slice(1, None),
        label=label(f"forecast ({horizon} steps)"),
    )
    ax.axvline(origin, color="grey", linestyle="--", label=label("last observation"))
    date_axis(ax, joined)
    ax.grid(alpha=0.3)
    return len(recent), origin
