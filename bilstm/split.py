"""Time splits, never shuffled: train / validation / test rows of each series, and the windows of a split.

One series: the ETT protocol (12 / 4 / 4 months: train [0, 8640), val [8640, 11520), test [11520, 14400) of
the hourly ETTh data sets, four times as many rows of the 15-minute ETTm ones), train / val / test fractions
elsewhere (`split_rows`). Many series (`split_panel`): `data.split: last` holds out the last `test_steps`
rows of every series as test and the `val_steps` before them as validation (M4 style; both default to the
horizon); `fractions` applies the fractions to each series. Validation and test windows read `lookback` rows
before their first target; a window's start row is an index into the table's rows, and no window crosses a
series boundary.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bilstm.config import DataConfig, PipelineConfig
from bilstm.data import SeriesTable
from bilstm.errors import DataValidationError
from bilstm.messages import sample

ETT_HOURLY_BORDERS = (8640, 11520, 14400)
ETT_STEPS_PER_HOUR = {"ETTh": 1, "ETTm": 4}

Part = Literal["train", "val", "test"]


@dataclass(frozen=True)
class Split:
    """Per series s: train rows [first[s], train_end[s]), validation targets [train_end[s], val_end[s]),
    test targets [val_end[s], test_end[s]); validation and test windows read `lookback` rows before. Rows
    are absolute rows of the table (or of the one series)."""

    first: np.ndarray  # (S,) the first row of each series
    train_end: np.ndarray  # (S,)
    val_end: np.ndarray  # (S,)
    test_end: np.ndarray  # (S,)
    lookback: int
    horizon: int
    note: str | None = None  # what was changed from the configured split, to tell the user

    @classmethod
    def of_one(
        cls, train_end: int, val_end: int, test_end: int, lookback: int, horizon: int, note: str | None = None
    ) -> Split:
        """The split of one series whose rows start at 0."""
        ends = (np.array([end], dtype=np.int64) for end in (train_end, val_end, test_end))
        return cls(np.zeros(1, dtype=np.int64), *ends, lookback, horizon, note)

    def borders(self, series: int = 0) -> tuple[int, int, int]:
        """(train_end, val_end, test_end) of series `series`."""
        return int(self.train_end[series]), int(self.val_end[series]), int(self.test_end[series])

    def rows(self, part: Part, series: int = 0) -> slice:
        """The rows the windows of `part` of series `series` read: the train rows; the validation or test
        targets with the `lookback` rows before them."""
        train_end, val_end, test_end = self.borders(series)
        if part == "train":
            return slice(int(self.first[series]), train_end)
        if part == "val":
            return slice(train_end - self.lookback, val_end)
        return slice(val_end - self.lookback, test_end)

    def train_mask(self, rows: int) -> np.ndarray:
        """(rows,) true on every train row."""
        marks = np.zeros(rows + 1, dtype=np.int64)
        np.add.at(marks, self.first, 1)
        np.add.at(marks, self.train_end, -1)
        return np.cumsum(marks[:-1]) > 0

    def window_counts(self, part: Part) -> np.ndarray:
        first, last = self._first_last(part)
        return np.maximum(last - first + 1, 0)

    def starts(self, part: Part) -> np.ndarray:
        """The start row of every window of `part`, series after series: window i reads rows
        [start, start + lookback) and forecasts the `horizon` rows after."""
        first, _ = self._first_last(part)
        counts = self.window_counts(part)
        before = np.cumsum(counts) - counts
        # concatenated ranges first[s] .. first[s] + counts[s] - 1, without a loop over series
        return np.arange(counts.sum()) - np.repeat(before - first, counts)

    def _first_last(self, part: Part) -> tuple[np.ndarray, np.ndarray]:
        """First and last window start of each series whose targets all lie in `part`."""
        span = self.lookback + self.horizon
        if part == "train":
            return self.first, self.train_end - span
        end = self.val_end if part == "val" else self.test_end
        begin = self.train_end if part == "val" else self.val_end
        return begin - self.lookback, end - span


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
        split = Split.of_one(*borders, lookback, horizon)
    else:
        split = _fraction_split(config, rows, lookback, horizon, where)
    train_end, val_end, test_end = split.borders()
    val_targets, test_targets = val_end - train_end, test_end - val_end
    if train_end < lookback + horizon or min(val_targets, test_targets) < horizon:
        need = lookback + horizon
        raise DataValidationError(
            f"{where}: too few rows ({rows}) for lookback {lookback} + horizon {horizon}: train has"
            f" {train_end} rows (needs >= {need}), validation {val_targets} and test {test_targets}"
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
    return Split.of_one(train_end, rows - test_rows, rows, lookback, horizon, note)


def split_panel(
    panel: SeriesTable, config: DataConfig, lookback: int, horizon: int
) -> tuple[SeriesTable, Split]:
    """Per-series borders, checked to leave a window in every split of every series. A series that is too
    short is an error naming it, or, with `config.skip_short`, left out with a warning."""
    lengths = panel.lengths
    if config.split == "fractions":
        train = (lengths * config.train_fraction).astype(np.int64)
        test = (lengths * config.test_fraction).astype(np.int64)
        val = lengths - train - test
    else:
        test = np.full(len(lengths), config.test_steps or horizon)
        val = np.full(len(lengths), config.val_steps or horizon)
        train = lengths - val - test
    short = (train < lookback + horizon) | (np.minimum(val, test) < horizon)
    if short.any():
        need = _needed_rows(config, lookback, horizon)
        first = int(np.flatnonzero(short)[0])
        if not config.skip_short or short.all():
            more = f" (and {short.sum() - 1} more series)" if short.sum() > 1 else ""
            raise DataValidationError(
                f"{panel.source}: {panel.described(first)} has {lengths[first]} rows, too few for lookback"
                f" {lookback} + horizon {horizon} ({need}){more}; shorten the lookback"
                + (" or give more rows" if short.all() else ", or pass --skip-short to leave such series out")
            )
        shown = ", ".join(sample(i) for i in panel.ids[short][:5])
        warnings.warn(
            f"{panel.source}: left out {short.sum()} series too short for lookback {lookback} + horizon"
            f" {horizon} ({need}): {shown}{' ...' if short.sum() > 5 else ''}",
            stacklevel=2,
        )
        keep = ~short
        panel, train, val = panel.subset(keep), train[keep], val[keep]
    first = panel.offsets[:-1]
    split = Split(first, first + train, first + train + val, panel.offsets[1:], lookback, horizon)
    return panel, split


def _needed_rows(config: DataConfig, lookback: int, horizon: int) -> str:
    if config.split == "fractions":
        return f"needs {lookback + horizon} train rows and {horizon} validation and test rows"
    held_out = (config.val_steps or horizon) + (config.test_steps or horizon)
    return f"needs at least {lookback + horizon + held_out} rows"


def check_targets_vary(series: SeriesTable, split: Split) -> None:
    """A target constant over a series' train rows leaves nothing to learn (and a zero scale): refused,
    naming the series (the first of them, and how many more)."""
    mask = split.train_mask(len(series.frame))
    train = series.frame.loc[mask, series.target_columns]
    spread = train.groupby(series.row_series[mask]).agg(np.ptp)
    flat = spread[(spread == 0).any(axis=1)]
    if not len(flat):
        return
    number = int(flat.index[0])
    column = flat.columns[(flat.iloc[0] == 0).to_numpy()][0]
    if series.series_column is None:
        raise DataValidationError(
            f"{series.source}: target column {column!r} is constant ({train[column].iloc[0]:g}) in the train"
            f" rows 1-{len(train)}; there is nothing to learn: choose another target or use data in which it"
            " varies"
        )
    more = f" (and {len(flat) - 1} more series)" if len(flat) > 1 else ""
    own = series.row_series[mask] == number
    value, file_rows = train[column].to_numpy()[own][0], series.file_rows[mask][own]
    raise DataValidationError(
        f"{series.source}: {series.described(number)} has a constant target {column!r} ({value:g}) in its"
        f" train rows {file_rows.min()}-{file_rows.max()}{more}; there is nothing to learn: drop that series"
        " or fix its values"
    )


def checked_panel_split(panel: SeriesTable, config: PipelineConfig) -> tuple[SeriesTable, Split]:
    """The split of a resolved `config`, checked to leave a window in every split of every series and a
    target that varies over each series' train rows."""
    panel, split = split_panel(panel, config.data, config.window.lookback, config.window.horizon)
    check_targets_vary(panel, split)
    return panel, split


def split_table(series: SeriesTable, config: PipelineConfig) -> tuple[SeriesTable, Split]:
    """The split of a resolved `config`: of one series by the ETT borders or fractions, of many by `last` or
    fractions per series (the short ones left out where `data.skip_short`); checked to leave a window in
    every split and a target that varies over the train rows. Returns the series kept and their split."""
    if series.series_column is not None:
        return checked_panel_split(series, config)
    window = config.window
    rows = len(series.frame)
    split = split_rows(config.data, series.name, rows, window.lookback, window.horizon, series.source)
    check_targets_vary(series, split)
    return series, split
