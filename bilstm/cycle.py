"""A periodic cycle removed from the scaled series before the network and added back to its forecasts: each
column's mean per phase of the period over the train rows (CycleNet's residual cycle); plain-JSON state.
Phases come from timestamps (steps of the frequency since the first train timestamp, modulo the period;
calendar steps such as months on the data zone's wall clock), not row numbers, so training, evaluation and a
forecast from any later history agree, gaps included.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from bilstm.calendar_steps import step_numbers
from bilstm.errors import BadInputError, DataValidationError


class CycleError(BadInputError):
    """The cycle cannot be fitted or applied; the message says why and how to fix it."""


class Cycle:
    """(period, C) per-phase means of the scaled columns; phases counted in steps of `freq` from `origin`
    (calendar steps on the wall clock of `zone`, the data's own)."""

    def __init__(
        self, period: int, freq: str, origin: pd.Timestamp, means: np.ndarray, zone: str | None = None
    ) -> None:
        self.period, self.freq, self.origin, self.means = period, freq, pd.Timestamp(origin), means
        self.zone = zone

    @classmethod
    def fit(
        cls, values: np.ndarray, times: pd.DatetimeIndex, period: int, freq: str, zone: str | None = None
    ) -> Cycle:
        """Means per phase of (rows, C) train `values` taken at `times`."""
        origin = times[0]
        phases = _phases(times, origin, freq, period, zone)
        seen = np.bincount(phases, minlength=period)
        if (seen == 0).any():
            missing = np.flatnonzero(seen == 0)[:5].tolist()
            raise CycleError(
                f"scaler.cycle={period}: the train rows miss phase(s) {missing} of the period;"
                " use a shorter cycle or more train rows"
            )
        sums = np.zeros((period, values.shape[1]))
        np.add.at(sums, phases, values)
        return cls(period, freq, origin, sums / seen[:, None], zone)

    def at(self, times: pd.DatetimeIndex, columns: slice = slice(None)) -> np.ndarray:
        """(len(times), c) the cycle's values of `columns` at `times`."""
        return self.means[_phases(times, self.origin, self.freq, self.period, self.zone)][:, columns]

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "freq": self.freq,
            "origin": self.origin.isoformat(),
            "means": self.means.tolist(),
            "zone": self.zone,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cycle:
        means = np.asarray(data["means"])
        return cls(data["period"], data["freq"], pd.Timestamp(data["origin"]), means, data.get("zone"))


def fit_on_train_rows(
    values: np.ndarray, times: pd.DatetimeIndex, period: int, freq: str, source: str, zone: str | None
) -> Cycle:
    """`Cycle.fit` on the train rows of the file `source`; a cycle they cannot fill names the file."""
    try:
        return Cycle.fit(values, times, period, freq, zone)
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
