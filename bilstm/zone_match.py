"""Whether data's time zone fits a model's, checked beside its frequency before a forecast or a monitoring
run reads it. A model trained on stamps without a zone refuses stamps with UTC offsets (which instants its
local times were is unknown). For a zoned model, stamps without offsets are local times in its zone; stamps
in another zone are converted to its zone where they then lie on its grid: always for the same offsets, for
a fixed step shorter than a day where the offsets differ by whole steps (hourly data at +08:00 for a UTC
model); never for days and calendar steps, which count on the wall clock. Models recorded without a zone
take any zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from bilstm.calendar_steps import describe
from bilstm.errors import DataValidationError
from bilstm.job import NAIVE, canonical_freq
from bilstm.messages import sample
from bilstm.stamps import offsets

_MINUTE = pd.Timedelta(minutes=1)


def check_zone(table: pd.DataFrame, source: str, time_column: str, model_zone: str | None, freq: str) -> None:
    """Raise `DataValidationError` naming `source`, both zones and the fix where the stamps of `table` are
    in a zone the model (`model_zone`: `NAIVE`, a zone, or None where not recorded) cannot read them in."""
    if model_zone is None or time_column not in table.columns:  # a missing column is named elsewhere
        return
    raw = table[time_column]
    written = offsets(raw)
    aware = written.notna().to_numpy()
    if not aware.any():  # none, or local times in the model's zone
        return
    if model_zone == NAIVE:
        raise DataValidationError(
            f"{source}: the stamps in {time_column!r} carry UTC offsets (e.g. {sample(raw[aware].iloc[0])}),"
            " the model was trained on stamps without a zone; pass them without offsets, as local times"
        )
    instants = pd.to_datetime(raw[aware], utc=True, errors="coerce")
    known = instants.notna().to_numpy()  # unparseable stamps are named by the data's own reading
    instants, text = instants[known], written[aware][known]
    ours = (instants.dt.tz_convert(model_zone).dt.tz_localize(None) - instants.dt.tz_localize(None)) / _MINUTE
    theirs = text.str[0].map({"+": 1, "-": -1}) * (text.str[1:3].astype(int) * 60 + text.str[4:6].astype(int))
    shift = (theirs.to_numpy(float) - ours.to_numpy(float)) * _MINUTE.value  # ns
    step = _fixed_step(freq)
    off_grid = shift != 0 if step is None else np.mod(shift, step) != 0
    if off_grid.any():
        first = np.flatnonzero(off_grid)[0]
        example = sample(str(raw[aware][known].iloc[first]))
        why = (
            f"its {describe(freq)} count on that wall clock"
            if step is None
            else f"converted there, they fall off its grid of {describe(freq)}"
        )
        raise DataValidationError(
            f"{source}: the stamps in {time_column!r} are at UTC offset {text.iloc[first]} (e.g. {example}),"
            f" the model's zone is {model_zone}: {why}; pass the stamps in {model_zone}"
        )


def _fixed_step(freq: str) -> int | None:
    """The step in nanoseconds where data in another zone may be converted (a fixed step shorter than a
    day); None where the wall clock counts (days, calendar steps)."""
    offset = to_offset(canonical_freq(freq))
    if not isinstance(offset, pd.offsets.Tick):
        return None
    step = pd.Timedelta(offset).value
    return step if step < pd.Timedelta(days=1).value else None
