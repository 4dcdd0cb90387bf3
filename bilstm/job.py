"""What a forecaster forecasts — its job: the data set, the time column, the input and target columns, the
horizon and the frequency. Versions of one registered model compete for `champion` only when their jobs are
equal: otherwise the alias that production forecasts with would point at a model of something else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

import pandas as pd

from bilstm.config import PipelineConfig
from bilstm.data import Series
from bilstm.panel import Panel

TAG_PREFIX = "job."


@dataclass(frozen=True)
class Job:
    """`data` is the data set's name: the file name without its extension (`ETTh1` for the built-in set)."""

    data: str
    time_column: str
    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    horizon: int
    freq: str
    series_column: str | None = None  # many series in a long table; None: one series

    @classmethod
    def of(
        cls,
        data: str,
        time_column: str,
        inputs: list[str],
        targets: list[str],
        horizon: int,
        freq: str,
        series_column: str | None = None,
    ) -> Job:
        return cls(
            data, time_column, tuple(inputs), tuple(targets), int(horizon), _canonical(freq), series_column
        )

    @classmethod
    def for_run(cls, series: Series | Panel, config: PipelineConfig) -> Job:
        """The job of a training run on `series` (one, or a panel of many) with `config`."""
        return cls.of(
            series.name,
            config.data.time_column,
            series.input_columns,
            series.target_columns,
            config.window.horizon,
            series.freq,
            config.data.series_column,
        )

    def to_tags(self) -> dict[str, str]:
        """Model-version tags (`job.horizon` -> "24"); column lists as JSON, so any column name survives;
        no series column tag for one series (as versions registered before many series were)."""
        return {
            TAG_PREFIX + f.name: json.dumps(list(value)) if isinstance(value, tuple) else str(value)
            for f in fields(self)
            for value in [getattr(self, f.name)]
            if value is not None
        }

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> Job | None:
        """The job recorded by `to_tags`, or None for a version registered before jobs were recorded."""
        try:
            raw = {f.name: tags[TAG_PREFIX + f.name] for f in fields(cls) if f.name != "series_column"}
        except KeyError:
            return None
        return cls.of(
            raw["data"],
            raw["time_column"],
            json.loads(raw["inputs"]),
            json.loads(raw["targets"]),
            int(raw["horizon"]),
            raw["freq"],
            tags.get(TAG_PREFIX + "series_column"),
        )

    def differences(self, other: Job) -> list[str]:
        """What differs, as `field: ours vs theirs` items; empty when the two forecast the same thing."""
        return [
            f"{f.name} {_shown(getattr(self, f.name))} vs {_shown(getattr(other, f.name))}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


def _canonical(freq: str) -> str:
    """One spelling per frequency: "60min" -> "h"; calendar ones ("MS", "W-SUN") as pandas writes them."""
    offset = pd.tseries.frequencies.to_offset(freq)
    try:
        return pd.tseries.frequencies.to_offset(pd.Timedelta(offset)).freqstr
    except ValueError:  # not a fixed step
        return offset.freqstr


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(value)
    return repr(value) if isinstance(value, str) else str(value)
