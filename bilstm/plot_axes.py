"""What every figure's axes share: date ticks that never overlap, at any frequency, shown in the data's own
zone; prediction bands shaded nested, the widest palest; and the bands read back from a forecast table's
`<target>_lo_<level>` / `<target>_hi_<level>` columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

FORECAST_COLOR = "tab:orange"

Bands = dict[float, tuple[np.ndarray, np.ndarray]]  # level in percent: (lo, hi)


def in_zone(times: pd.DatetimeIndex, timezone: str | None) -> pd.DatetimeIndex:
    """`times` as the data shows them: converted to `timezone` where the stamps are zoned and one is set."""
    return times if timezone is None or times.tz is None else times.tz_convert(timezone)


def stamp_text(stamp: pd.Timestamp) -> str:
    """'2024-10-01' for a stamp at midnight, else '2016-07-21 19:00+02:00': no digits that say nothing."""
    if stamp == stamp.normalize():
        return str(stamp.date())
    return stamp.isoformat(sep=" ", timespec="seconds" if stamp.second else "minutes")


def date_axis(ax: Axes, times: pd.DatetimeIndex) -> None:
    """Ticks chosen for the span shown (hours to years) with concise labels, which never overlap, in the
    zone of `times` (naive stamps as written)."""
    locator = AutoDateLocator(tz=times.tz)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=times.tz))


def shade_bands(ax: Axes, times, bands: Bands, labelled: bool = True) -> None:
    """Fill each band between its bounds over `times`, the widest first and palest, the narrower on top.
    The fills are opaque tints below the lines and the grid, so a legend's patch shows the very shade of its
    band and no line hides behind a fill."""
    levels = sorted(bands, reverse=True)
    for j, level in enumerate(levels):
        lo, hi = bands[level]
        # the narrowest band gets the strongest tint: 0.45 of the forecast's colour, 0.25 the next, ...
        strength = 0.45 / (1 + 0.8 * (len(levels) - 1 - j))
        tint = tuple(strength * c + (1 - strength) for c in to_rgb(FORECAST_COLOR))
        label = f"{level:g} % interval" if labelled else None
        ax.fill_between(times, lo, hi, color=tint, linewidth=0, zorder=1, label=label)


def table_bands(forecast: pd.DataFrame, target: str) -> Bands:
    """{level: (lo, hi)} of `target` from a forecast table's band columns; empty where it has none."""
    pattern = re.compile(rf"{re.escape(target)}_lo_(\d+(?:\.\d+)?)")
    levels = [m[1] for c in forecast.columns if (m := pattern.fullmatch(str(c))) is not None]
    return {
        float(level): (
            forecast[f"{target}_lo_{level}"].to_numpy(dtype=np.float64),
            forecast[f"{target}_hi_{level}"].to_numpy(dtype=np.float64),
        )
        for level in levels
    }
