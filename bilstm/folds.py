"""Rolling-origin backtest folds: the options (how many folds, how far apart, how often to retrain, where
they run), where each fold's train, validation and test rows lie, and which fold's model scores which fold.

Fold k of N (newest last) tests on the `horizon`-ahead windows whose targets lie in its own test block;
its validation block lies just before, its train rows are everything before that (an expanding window).
The blocks have the sizes of the config's single split; origins lie `step` rows apart (default: the test
size, so the test blocks do not overlap) and the newest test block ends at the last row, of every series of
a long table at once (each with its own blocks, from its own end). Each fold is a
`Split` like the single split's, so a fold is split, scaled, windowed, trained and evaluated by the very
functions the training flow uses: nothing from its test rows reaches its scaler, warm start or early stopping.

Light (no torch), so the CLI checks the options against the data before anything heavy starts.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from bilstm.config import PipelineConfig
from bilstm.data import SeriesTable
from bilstm.errors import BadInputError, option_problems
from bilstm.input_checks import check_cycle
from bilstm.messages import sample
from bilstm.split import Split, check_targets_vary, split_table


class BacktestError(BadInputError):
    """The backtest's own settings cannot be used with this data (too many folds, a step too long)."""


class BacktestOptions(BaseModel):
    """How to backtest: the number of folds, the rows between origins, how often to retrain, and where the
    folds run. Typed, so the Prefect form of the `backtest` deployment shows each with its default."""

    folds: int = Field(4, ge=1, description="Rolling origins, newest last")
    step: int | None = Field(
        None, ge=1, description="Rows between origins [default: the test split's size, no overlap]"
    )
    refit: str = Field(
        "every",
        description="every: a model per fold; once: train on the first fold and roll it forward;"
        " K: retrain every K folds",
    )
    workers: int = Field(1, ge=1, description="Dask worker processes for the folds; 1 runs them here")
    dask_address: str | None = Field(
        None, description="An existing Dask scheduler (tcp://host:8786) instead of a local cluster"
    )

    @field_validator("refit")
    @classmethod
    def _known_refit(cls, value: str) -> str:
        if value in ("every", "once") or (re.fullmatch(r"\d+", value) and int(value) >= 1):
            return value
        raise ValueError("must be 'every', 'once' or a whole number K >= 1 (retrain every K folds)")

    @classmethod
    def checked(cls, **options) -> BacktestOptions:
        """The options, or a `BacktestError` naming the command-line option that is wrong."""
        try:
            return cls(**options)
        except ValidationError as error:
            raise BacktestError(option_problems(error)) from None

    @property
    def parallel(self) -> bool:
        """Whether the folds run on a Dask cluster (more than one worker, or a scheduler given)."""
        return self.workers > 1 or self.dask_address is not None


@dataclass(frozen=True)
class Fold:
    """One rolling origin: its index (0 = oldest), its rows, and the fold whose model forecasts its test
    windows (itself where it retrains)."""

    index: int
    split: Split
    trained_by: int

    @property
    def retrains(self) -> bool:
        return self.trained_by == self.index


def trained_by(refit: str, folds: int) -> list[int]:
    """For each fold, the fold whose model it uses: `every` -> itself, `once` -> fold 0, K -> the latest
    fold at a multiple of K (Darts' `retrain=K`, NeuralForecast's `refit=K`)."""
    every = {"every": 1, "once": folds}.get(refit) or int(refit)
    return [k - k % every for k in range(folds)]


def plan_folds(
    series: SeriesTable,
    config: PipelineConfig,
    options: BacktestOptions,
    folds_option: str = "--folds",
    before_test: bool = False,
) -> tuple[SeriesTable, list[Fold]]:
    """The folds over the newest rows of every series of `series` for a resolved `config`, checked to leave
    every fold's train rows at least one window and a target that varies; a refusal names `folds_option`.
    Each series gets the blocks of its own split, stepping back from its own last row: with `split: last`,
    fold k of N holds out the k-th block of `test_steps` (the horizon) from the end of each series. A series
    too short for the folds is refused, naming it, or left out with a warning where `data.skip_short`.

    With `before_test`, the folds end where the config's own test split starts (a sweep's folds, which
    leave the test windows untouched): the validation split cut into one held-out block a fold, each fold
    validating on the block before its own, so the newest fold trains on the whole train split; with
    `split: last` (many series), blocks of the validation split's size step back from the test split.

    Returns the series the folds run on and the folds."""
    series, base = split_table(series, config)
    window = config.window
    val_rows = base.val_end - base.train_end
    if before_test:
        rows = base.val_end - base.first
        last = series.series_column is not None and config.data.split != "fractions"
        val_size = test_size = val_rows if last else val_rows // options.folds
        if series.series_column is None and test_size[0] < window.horizon:
            raise BacktestError(
                f"{series.source}: {options.folds} folds cut the {val_rows[0]} validation rows into blocks"
                f" of {test_size[0]}, shorter than the horizon ({window.horizon}):"
                f" use {folds_option} {max(1, val_rows[0] // window.horizon)} or fewer"
            )
    else:
        rows = base.test_end - base.first
        val_size, test_size = val_rows, base.test_end - base.val_end
    step = np.full(len(rows), options.step) if options.step else test_size
    # fold 0's train rows must hold one window: rows - (N - 1) * step - test - val >= lookback + horizon
    room = rows - test_size - val_size - window.lookback - window.horizon
    fit = np.where((room >= 0) & (test_size >= window.horizon), room // step + 1, 0)
    short = fit < options.folds
    if short.any():
        sizes = _FoldSizes(rows, val_size, test_size, step, fit)
        keep = _series_that_fit(series, config, options, folds_option, before_test, sizes)
        series = series.subset(keep)
        rows, val_size, test_size, step = rows[keep], val_size[keep], test_size[keep], step[keep]
    first = series.offsets[:-1]
    folds = []
    for k, by in enumerate(trained_by(options.refit, options.folds)):
        test_end = first + rows - (options.folds - 1 - k) * step
        val_end = test_end - test_size
        split = Split(first, val_end - val_size, val_end, test_end, window.lookback, window.horizon)
        check_targets_vary(series, split)
        folds.append(Fold(k, split, by))
    return series, folds


@dataclass(frozen=True)
class _FoldSizes:
    """Per series: the rows the folds tile, the validation and test block sizes, the rows between origins,
    and how many folds fit."""

    rows: np.ndarray
    val_size: np.ndarray
    test_size: np.ndarray
    step: np.ndarray
    fit: np.ndarray


def _series_that_fit(
    series: SeriesTable,
    config: PipelineConfig,
    options: BacktestOptions,
    folds_option: str,
    before_test: bool,
    sizes: _FoldSizes,
) -> np.ndarray:
    """(S,) true for the series the folds fit. A series they do not fit (the one fewest fit, named) is
    refused, or with `data.skip_short` (and a series left) left out with a warning."""
    short = sizes.fit < options.folds
    count = int(short.sum())
    if config.data.skip_short and not short.all():
        shown = ", ".join(sample(i) for i in series.ids[short][:5])
        warnings.warn(
            f"{series.source}: left out {count} series too short for {options.folds} folds"
            + (" before the test split" if before_test else "")
            + f": {shown}{' ...' if count > 5 else ''}",
            stacklevel=3,
        )
        return ~short
    s = int(np.flatnonzero(short)[np.argmin(sizes.fit[short])])
    fit, step = int(sizes.fit[s]), int(sizes.step[s])
    who = f" {series.described(s)}" if series.series_column else ""
    more = f" (and {count - 1} more series)" if count > 1 else ""
    test, val = sizes.test_size[s], sizes.val_size[s]
    blocks = f"blocks of {test} rows" if test == val else f"test blocks of {test} rows, validation of {val}"
    hints = [f"use {folds_option} {fit}" if fit else "shorten the lookback"]
    if step > 1 and folds_option == "--folds" and not before_test:
        hints.append("a shorter --step")
    hints.append("pass --skip-short to leave such series out" if not short.all() else "give it more rows")
    raise BacktestError(
        f"{series.source}: {options.folds} folds do not fit{who}{more}: its {sizes.rows[s]}"
        + (" rows before the test split" if before_test else " rows")
        + f" hold {f'at most {fit}' if fit else 'none'}; "
        + ", or ".join(hints)
        + f" ({blocks}, origins {step} rows apart, fold 0 training on at least lookback + horizon ="
        f" {config.window.lookback + config.window.horizon} rows)"
    )


def check_backtest_input(
    series: SeriesTable, config: PipelineConfig, options: BacktestOptions, folds_option: str = "--folds"
) -> None:
    """Raise `BacktestError` (or `DataValidationError`) for folds that do not fit `series` (as
    the command line's checks read it, with its resolved `config`), before the flow starts: the same
    planning the flow does (whose run of it shows its warnings), and the cycle (`scaler.cycle`) on each
    fold's train rows, which the flow fits only in the fold."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series, folds = plan_folds(series, config, options, folds_option)
    for fold in folds:
        check_cycle(series, config, fold.split)
