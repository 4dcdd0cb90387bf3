"""Time splits: train / validation / test row ranges, never shuffled.

The ETT protocol (12 / 4 / 4 months: train [0, 8640), val [8640, 11520), test [11520, 14400) of the hourly
ETTh data sets, four times as many rows of the 15-minute ETTm ones), train / val / test fractions elsewhere.
Validation and test inputs start `lookback` rows early, so the first target of each split lies inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bilstm.config import DataConfig
from bilstm.data import DataValidationError

ETT_HOURLY_BORDERS = (8640, 11520, 14400)
ETT_STEPS_PER_HOUR = {"ETTh": 1, "ETTm": 4}


@dataclass(frozen=True)
class Split:
    """Row ranges into the series: train rows [0, train_end), validation targets [train_end, val_end), test
    targets [val_end, test_end); the val/test slices start `lookback` rows before their first target."""

    train_end: int
    val_end: int
    test_end: int
    lookback: int
    note: str | None = None  # what was changed from the configured split, to tell the user

    @property
    def train_rows(self) -> slice:
        return slice(0, self.train_end)

    @property
    def val_rows(self) -> slice:
        """Validation inputs and targets: starts `lookback` rows before the first val target."""
        return slice(self.train_end - self.lookback, self.val_end)

    @property
    def test_rows(self) -> slice:
        return slice(self.val_end - self.lookback, self.test_end)


def ett_borders(config: DataConfig, name: str, rows: int) -> tuple[int, int, int] | None:
    """The ETT borders where they apply: `data.split` ett, or auto on an ETTh/ETTm file long enough."""
    if config.split == "fractions" or (config.split == "auto" and name[:4] not in ETT_STEPS_PER_HOUR):
        return None
    borders = tuple(b * ETT_STEPS_PER_HOUR.get(name[:4], 1) for b in ETT_HOURLY_BORDERS)
    return borders if config.split == "ett" or rows >= borders[-1] else None


def split_rows(
    config: DataConfig, name: str, rows: int, lookback: int, horizon: int, source: str | None = None
) -> Split:
    """Borders for a series of `rows` rows, checked to leave at least one window in every split.
    `name` picks the ETT borders; errors name `source` (the file), or `name` without one."""
    where = source or name
    borders = ett_borders(config, name, rows)
    if borders is not None:
        if rows < borders[-1]:
            raise DataValidationError(
                f"{where}: the ETT split needs {borders[-1]} rows, the file has {rows};"
                " set data.split=fractions"
            )
        split = Split(*borders, lookback=lookback)
    else:
        split = _fraction_split(config, rows, lookback, horizon, where)
    val_targets = split.val_end - split.train_end
    test_targets = split.test_end - split.val_end
    if split.train_end < lookback + horizon or min(val_targets, test_targets) < horizon:
        need = lookback + horizon
        raise DataValidationError(
            f"{where}: too few rows ({rows}) for lookback {lookback} + horizon {horizon}: train has"
            f" {split.train_end} rows (needs >= {need}), validation {val_targets} and test {test_targets}"
            f" (each needs >= {horizon}); use more data or a shorter lookback/horizon"
        )
    return split


def _fraction_split(config: DataConfig, rows: int, lookback: int, horizon: int, where: str) -> Split:
    """Train / validation / test by `config`'s fractions; a validation or test part shorter than one horizon
    (a short series) is lengthened to one, from the train rows, and the split says so in its `note`."""
    test_rows = int(rows * config.test_fraction)
    train_end = int(rows * config.train_fraction)
    wanted = (train_end, rows - test_rows)
    test_rows = max(test_rows, horizon)
    train_end = min(train_end, rows - test_rows - horizon)
    note = None
    if (train_end, rows - test_rows) != wanted:
        note = (
            f"{where}: {rows} rows are few for horizon {horizon}: validation and test get one horizon at"
            f" least ({train_end} train rows, {rows - test_rows - train_end} validation, {test_rows} test)"
        )
    return Split(train_end, rows - test_rows, rows, lookback, note)
