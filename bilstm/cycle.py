"""A periodic cycle removed from the scaled series before the network and added back to its forecasts: each
column's mean per phase of the period over the train rows (CycleNet's residual cycle); plain-JSON state.
Phases come from timestamps (steps since the first train timestamp, modulo the period), not row numbers, so
training, evaluation and a forecast from any later history agree, gaps included.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bilstm.errors import BadInputError, DataValidationError


class CycleError(BadInputError):
    """The cycle cannot be fitted or applied; the message says why and how to fix it."""


class Cycle:
    """(period, C) per-phase means of the scaled columns; phases counted in steps of `freq` from `origin`."""

    def __init__(self, period: int, freq: str, origin: pd.Timestamp, means: np.ndarray) -> None:
        self.period, self.freq, self.origin, self.means = period, freq, pd.Timestamp(origin), means

    @classmethod
    def fit(cls, values: np.ndarray, times: pd.DatetimeIndex, period: int, freq: str) -> Cycle:
        """Means per phase of (rows, C) train `values` taken at `times`."""
        origin = times[0]
        phases = _phases(times, origin, freq, period)
        seen = np.bincount(phases, minlength=period)
        if (seen == 0).any():
            missing = np.flatnonzero(seen == 0)[:5].tolist()
            raise CycleError(
                f"scaler.cycle={period}: the train rows miss phase(s) {missing} of the period;"
                " use a shorter cycle or more train rows"
            )
        sums = np.zeros((period, values.shape[1]))
        np.add.at(sums, phases, values)
        return cls(period, freq, origin, sums / seen[:, None])

    def at(self, times: pd.DatetimeIndex, columns: slice = slice(None)) -> np.ndarray:
        """(len(times), c) the cycle's values of `columns` at `times`."""
        return self.means[_phases(times, self.origin, self.freq, self.period)][:, columns]

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "freq": self.freq,
            "origin": self.origin.isoformat(),
            "means": self.means.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cycle:
        return cls(data["period"], data["freq"], pd.Timestamp(data["origin"]), np.asarray(data["means"]))


def fit_on_train_rows(
    values: np.ndarray, times: pd.DatetimeIndex, period: int, freq: str, source: str
) -> Cycle:
    """`Cycle.fit` on the train rows of the file `source`; a cycle they cannot fill names the file."""
    try:
        return Cycle.fit(values, times, period, freq)
    except CycleError as error:
        raise DataValidationError(f"{source}: {error}") from None


def _phases(times: pd.DatetimeIndex, origin: pd.Timestamp, freq: str, period: int) -> np.ndarray:
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except ValueError:
        raise CycleError(
            f"scaler.cycle needs a series with a fixed step; {freq!r} has none: set scaler.cycle=0"
        ) from None
    steps = np.round((pd.DatetimeIndex(times) - origin) / step).astype(np.int64)
    return np.mod(steps, period)
