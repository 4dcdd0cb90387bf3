"""A periodic cycle removed from the scaled series before the network and added back to its forecasts: each
series' own mean per phase of the period, per column, over its train rows (CycleNet's residual cycle);
plain-JSON state. Phases come from timestamps (steps of the frequency since the first train timestamp of any
series, modulo the period; calendar steps on the data zone's wall clock), not row numbers, so training,
evaluation and a forecast from any later history agree, gaps included. A series the cycle was not fitted on
gets the mean of the fitted series' profiles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from bilstm.calendar_steps import step_numbers
from bilstm.errors import BadInputError, DataValidationError
from bilstm.messages import sample
from bilstm.scaling import ONE_SERIES


class CycleError(BadInputError):
    """The cycle cannot be fitted or applied; the message says why and how to fix it."""


class Cycle:
    """(S, period, C) per-phase means of the scaled columns of S series `ids`; phases counted in steps of
    `freq` from `origin` (calendar steps on the wall clock of `zone`, the data's own)."""

    def __init__(
        self,
        period: int,
        freq: str,
        origin: pd.Timestamp,
        means: np.ndarray,
        zone: str | None = None,
        ids: np.ndarray = ONE_SERIES,
    ) -> None:
        self.period, self.freq, self.origin, self.means = period, freq, pd.Timestamp(origin), means
        self.zone, self.ids = zone, np.asarray(ids, dtype=object)

    @classmethod
    def fit(
        cls,
        values: np.ndarray,
        times: pd.DatetimeIndex,
        period: int,
        freq: str,
        zone: str | None = None,
        row_series: np.ndarray | None = None,
        ids: np.ndarray = ONE_SERIES,
    ) -> Cycle:
        """Means per series and phase of (rows, C) train `values` taken at `times`, row r of series
        row_series[r] among `ids` (None: all of one series)."""
        origin = times.min()
        count = len(ids)
        series = np.zeros(len(values), dtype=np.int64) if row_series is None else np.asarray(row_series)
        cells = series * period + _phases(times, origin, freq, period, zone)
        seen = np.bincount(cells, minlength=count * period).reshape(count, period)
        if (seen == 0).any():
            short = int(np.flatnonzero((seen == 0).any(axis=1))[0])
            missing = np.flatnonzero(seen[short] == 0)[:5].tolist()
            whose = "the train rows" if count == 1 else f"the train rows of series {sample(ids[short])}"
            raise CycleError(
                f"scaler.cycle={period}: {whose} miss phase(s) {missing} of the period;"
                " use a shorter cycle or more train rows"
            )
        sums = np.stack(
            [
                np.bincount(cells, weights=values[:, j], minlength=count * period)
                for j in range(values.shape[1])
            ],
            axis=-1,
        )
        return cls(period, freq, origin, sums.reshape(count, period, -1) / seen[..., None], zone, ids)

    def numbers(self, ids: np.ndarray) -> np.ndarray:
        """The series number of each id; -1 for an id the cycle was not fitted on."""
        return pd.Index(self.ids.astype(str)).get_indexer(pd.Index(np.asarray(ids, dtype=str)))

    def at(
        self, times: pd.DatetimeIndex, columns: slice = slice(None), series: np.ndarray | None = None
    ) -> np.ndarray:
        """(len(times), c) the cycle's values of `columns` at `times`, row r of series series[r] (numbers of
        `ids`, -1: the mean profile of them all; None: all of the first series)."""
        phases = _phases(times, self.origin, self.freq, self.period, self.zone)
        if series is None:
            return self.means[0][phases][:, columns]
        # the mean profile last, where series -1 reads it
        profiles = np.concatenate([self.means, self.means.mean(axis=0, keepdims=True)])
        return profiles[np.asarray(series), phases][:, columns]

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "freq": self.freq,
            "origin": self.origin.isoformat(),
            "ids": [str(i) for i in self.ids],
            "means": self.means.tolist(),
            "zone": self.zone,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cycle:
        """The cycle of a JSON state, also of bundles whose cycle is one series' (period, C) means."""
        means = np.asarray(data["means"], dtype=np.float64)
        means = means[None] if means.ndim == 2 else means
        ids = np.asarray(data.get("ids", ONE_SERIES), dtype=object)
        return cls(data["period"], data["freq"], pd.Timestamp(data["origin"]), means, data.get("zone"), ids)


def fit_on_train_rows(
    values: np.ndarray,
    times: pd.DatetimeIndex,
    period: int,
    freq: str,
    source: str,
    zone: str | None,
    row_series: np.ndarray | None = None,
    ids: np.ndarray = ONE_SERIES,
) -> Cycle:
    """`Cycle.fit` on the train rows of the file `source`; a cycle they cannot fill names the file."""
    try:
        return Cycle.fit(values, times, period, freq, zone, row_series, ids)
    except CycleError as error:
        raise DataValidationError(f"{source}: {error}") from None


def _phases(
    times: pd.DatetimeIndex, origin: pd.Timestamp, freq: str, period: int, zone: str | None
) -> np.ndarray:
    offset = to_offset(freq)
    if isinstance(offset, pd.offsets.Tick):
        steps = np.round((pd.DatetimeIndex(times) - origin) / pd.Timedelta(offset)).astype(np.int64)
        return np.mod(steps, period)
    numbers = step_numbers(pd.DatetimeIndex([origin]).append(pd.DatetimeIndex(times)), freq, zone)
    if np.isnan(numbers).any():
        raise CycleError(
            f"scaler.cycle: stamps that are no steps of {freq} (e.g. {times[np.isnan(numbers[1:])][0]})"
        )
    return np.mod((numbers[1:] - numbers[0]).astype(np.int64), period)
