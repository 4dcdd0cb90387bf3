"""What a forecaster forecasts — its job: the time column, the input and target columns, the horizon, the
frequency, the zone of its stamps and the series (the ids of many; for one series, its values at a sample of
its stamps). Versions
of one registered model compete for `champion` only when their jobs are the same: otherwise the alias that
production forecasts with would point at a model of something else. The file's name is information: a new
file of the same series is the same job (the nightly retrain), another series in a file of that name is not.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from bilstm.calendar_steps import step_numbers
from bilstm.config import PipelineConfig
from bilstm.data import SeriesTable

TAG_PREFIX = "job."
# one series is recognised in a later file by its values at the stamps whose step number (since 1970, in steps
# of the frequency) is a multiple of SAMPLE_EVERY: the same stamps in any file, so files that overlap by a
# few hundred steps share several; the last SAMPLES of them are kept
SAMPLE_EVERY, SAMPLES = 31, 32
AGREEING = 0.9  # the share of shared stamps whose values must agree for two files to hold one series
IDENTITY = ("series", "sample")  # fields compared by their own rule, not by equality
NAIVE = "none"  # the zone of stamps without one


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
    series: str | None = None  # many series: their count and a digest of their ids
    sample: str | None = None  # one series: JSON {stamp: [target values]} at sampled stamps
    timezone: str | None = None  # the data's zone ('+08:00', 'Europe/Berlin') or NAIVE; None: not recorded

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
        series: str | None = None,
        sample: str | None = None,
        timezone: str | None = None,
    ) -> Job:
        return cls(
            data,
            time_column,
            tuple(inputs),
            tuple(targets),
            int(horizon),
            canonical_freq(freq),
            series_column,
            series,
            sample,
            timezone,
        )

    @classmethod
    def for_run(cls, series: SeriesTable, config: PipelineConfig) -> Job:
        """The job of a training run on `series` (one, or a panel of many) with `config`."""
        return cls.of(
            series.name,
            config.data.time_column,
            series.file_columns,
            series.target_columns,
            config.window.horizon,
            series.freq,
            config.data.series_column,
            # a file of one series is known by its values; many by their ids
            None if series.series_column is None else _ids_digest(series.ids),
            _sample(series) if series.series_column is None else None,
            series.timezone or NAIVE,
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
        optional = ("series_column", *IDENTITY, "timezone")
        try:
            raw = {f.name: tags[TAG_PREFIX + f.name] for f in fields(cls) if f.name not in optional}
        except KeyError:
            return None
        return cls.of(
            raw["data"],
            raw["time_column"],
            json.loads(raw["inputs"]),
            json.loads(raw["targets"]),
            int(raw["horizon"]),
            raw["freq"],
            *(tags.get(TAG_PREFIX + name) for name in optional),
        )

    def differences(self, other: Job) -> list[str]:
        """What differs, as `field: ours vs theirs` items; empty when the two forecast the same thing.
        The series are the same where both have the same ids (many series) or agree on the values at the
        stamps both files hold (one series); where that cannot be told, the file names must match. Zones
        are compared where both jobs recorded theirs."""
        unrecorded = ("timezone",) if None in (self.timezone, other.timezone) else ()
        compared = [f.name for f in fields(self) if f.name not in ("data", *IDENTITY, *unrecorded)]
        found = [
            f"{name} {_shown(getattr(self, name))} vs {_shown(getattr(other, name))}"
            for name in compared
            if getattr(self, name) != getattr(other, name)
        ]
        if self.series and other.series:
            if self.series != other.series:
                found.append(f"series {self.series} vs {other.series}")
            return found
        same = _same_values(self.sample, other.sample)
        if same is False:
            data = f"data {_shown(self.data)} vs {_shown(other.data)}"
            found.append(f"the series ({data}): other values at the same stamps")
        elif same is None and self.data != other.data:
            found.insert(0, f"data {_shown(self.data)} vs {_shown(other.data)}")
        return found


def _ids_digest(ids: np.ndarray) -> str:
    """'414 series #3f2a9c1d0b7e': the count and a digest of the sorted ids."""
    joined = "\x1f".join(sorted(str(i) for i in ids))
    return f"{len(ids)} series #{hashlib.sha256(joined.encode()).hexdigest()[:12]}"


def _sample(series: SeriesTable) -> str:
    """The target values at the series' last `SAMPLES` sampled stamps, by stamp, as JSON."""
    numbers = step_numbers(series.frame.index, series.freq, series.timezone)
    rows = np.flatnonzero(np.mod(numbers, SAMPLE_EVERY) == 0)[-SAMPLES:]
    values = series.frame[series.target_columns].to_numpy()[rows]
    stamps = series.frame.index[rows]
    return json.dumps(
        {str(t): [float(f"{v:.9g}") for v in row] for t, row in zip(stamps, values, strict=True)}
    )


def _same_values(ours: str | None, theirs: str | None) -> bool | None:
    """Do two files' samples hold one series? None where they share no stamp (or one has none)."""
    if not ours or not theirs:
        return None
    mine, other = json.loads(ours), json.loads(theirs)
    shared = [t for t in mine if t in other and len(mine[t]) == len(other[t])]
    if not shared:
        return None
    agree = [np.allclose(mine[t], other[t], rtol=1e-6, atol=1e-9) for t in shared]
    return float(np.mean(agree)) >= AGREEING


def canonical_freq(freq: str) -> str:
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
