"""Settings left to the data: the lookback and the segment length, derived from the series' seasonal period
(`bilstm.calendar_steps.seasonal_period`, or `data.seasonal_period`) and its train rows.

`resolve` returns a config with every such setting filled in, the period, and warnings about the settings
the user chose (a lookback that takes a large share of the train rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bilstm.calendar_steps import seasonal_period
from bilstm.config import DataConfig, PipelineConfig, with_overrides
from bilstm.data import SeriesTable
from bilstm.errors import DataValidationError
from bilstm.split import split_rows

SEASONS = 14  # the default lookback in seasonal periods: two weeks of hourly data, as ETTh1's 336 rows
AUTO_KEYS = ("window.lookback", "model.patch_len", "data.seasonal_period")  # what None leaves to the data
LOOKBACK_SHARE = 0.25  # the most of the train rows the default lookback takes; more than this warns
# many series: the windows of every series train one model, so a lookback may take more of the shortest
# one's train rows (on M4 Hourly a quarter loses to seasonal naive: docs/benchmarks/m4.md)
LOOKBACK_SHARE_MANY = 0.6


def season(config: DataConfig, freq: str) -> int:
    """The seasonal period in steps: `data.seasonal_period` where set, else the frequency's own."""
    return config.seasonal_period or seasonal_period(freq)


@dataclass
class Resolved:
    config: PipelineConfig  # no setting left to the data
    period: int  # the seasonal period in steps
    derived: dict[str, int] = field(default_factory=dict)  # the settings filled in here
    warnings: list[str] = field(default_factory=list)


def default_lookback(period: int, train_rows: int, share: float = LOOKBACK_SHARE) -> int:
    """`SEASONS` periods, at most `share` of the train rows (whole periods where two fit)."""
    lookback = min(SEASONS * period, max(1, int(train_rows * share)))
    return lookback - lookback % period if lookback >= 2 * period else lookback


def default_patch_len(period: int, lookback: int) -> int:
    """One seasonal period per recurrent step where the lookback holds two or more, else a quarter of it."""
    return period if lookback >= 2 * period else max(1, lookback // 4)


def resolve(config: PipelineConfig, series: SeriesTable) -> Resolved:
    """Fill in `window.lookback` and `model.patch_len` where they are None (auto) from `series` (from the
    shortest series' rows before its validation and test, for many); refuse OWA without a seasonal
    period."""
    period = season(config.data, series.freq)
    if config.registry.gate_metric == "owa" and period == 1:
        raise DataValidationError(
            f"{series.source}: registry.gate_metric owa needs a seasonal period above 1, not 1 (OWA is scored"
            " only where the data has a season); set data.seasonal_period above 1 or use mase"
        )
    train_rows, notes = _train_rows(config, series)
    share = LOOKBACK_SHARE if series.series_column is None else LOOKBACK_SHARE_MANY
    derived: dict[str, int] = {}
    lookback = config.window.lookback
    if lookback is None:
        lookback = derived["window.lookback"] = default_lookback(period, train_rows, share)
    if config.model.patch_len is None:
        derived["model.patch_len"] = default_patch_len(period, lookback)
    if "window.lookback" not in derived and lookback > share * train_rows:
        notes.append(
            f"window.lookback={lookback} takes {lookback / train_rows:.0%} of the {train_rows} train rows"
            f" (more than {share:.0%}): few training windows; the seasonal period of"
            f" {series.freq} data is {period} steps, and leaving the lookback unset picks"
            f" {default_lookback(period, train_rows, share)}"
        )
    return Resolved(with_overrides(config, derived), period, derived, notes)


def _train_rows(config: PipelineConfig, series: SeriesTable) -> tuple[int, list[str]]:
    """The train rows the default lookback is sized by, and what the split changed: one series' by its split
    (the ETT borders or fractions), the shortest of many series' rows but two horizons."""
    if series.series_column is not None:
        return max(int(series.lengths.min()) - 2 * config.window.horizon, 1), []
    # the split's train rows do not depend on the lookback; a placeholder of 1 only sizes them
    split = split_rows(config.data, series.name, len(series.frame), 1, config.window.horizon, series.source)
    return split.borders()[0], [split.note] if split.note else []
