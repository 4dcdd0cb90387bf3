"""The pipeline's steps as plain functions, for one series or the many of a long table — the Prefect tasks
and the benchmarks call these same ones.

ingest (`bilstm.data.load_table`) -> the settings left to the data (`bilstm.defaults.resolve`) ->
`split_and_scale` -> `make_train_windows` -> `new_forecaster` -> `fit_forecaster` (which ends with
`calibrate_intervals`) -> `evaluate_forecaster`.
`run` chains them without any orchestration, for library use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from bilstm.config import ModelConfig, PipelineConfig, TrainConfig
from bilstm.cycle import Cycle, fit_on_train_rows
from bilstm.data import SeriesTable, load_table
from bilstm.defaults import resolve, season
from bilstm.ensemble import Ensemble, choose_combination, plan_members
from bilstm.ensemble import build as build_network
from bilstm.evaluation import Evaluation, evaluate
from bilstm.forecaster import Forecaster
from bilstm.input_checks import check_positive
from bilstm.interval_pooling import choose_pooling
from bilstm.intervals import ConformalIntervals, calibrate
from bilstm.model import BiLSTMNet
from bilstm.nonnegative import floored_targets
from bilstm.scaling import Scaler
from bilstm.split import Split, split_table
from bilstm.statics import StaticEncoding
from bilstm.training import EpochCallback, TrainingLog, fit, loss_function, predict
from bilstm.window_spec import WindowSpec
from bilstm.windows import Windows, split_windows

_FIT_BATCH = 4096  # windows per batch of the highway's least-squares warm start


@dataclass
class ScaledSplit:
    """Series split by time, with a scaler and a cycle (one profile per series) fitted on their train rows,
    and what the network reads: the scaled values, minus the cycle where one is configured."""

    series: SeriesTable
    split: Split
    scaler: Scaler
    scaled: np.ndarray  # (rows, C) float32, columns as series.input_columns
    cycle: Cycle | None = None
    statics: StaticEncoding | None = None  # data.static, fitted over the series

    def static_rows(self) -> np.ndarray | None:
        """(rows, D) each row's series' encoded static columns; None without static columns."""
        if self.statics is None:
            return None
        return self.statics.encode(self.series.statics, self.series.source)[self.series.row_series]


def split_and_scale(series: SeriesTable, config: PipelineConfig, split: Split | None = None) -> ScaledSplit:
    """Split by `config` (leaving out series too short for it where `data.skip_short`), or by a given
    `split` (a backtest's fold); fit the scaler (one per series, or pooled with `scaler.per_series` off)
    and the cycle (one profile per series) on the train rows, and scale every row with them; the static
    columns' encoding over the series."""
    if split is None:
        series, split = split_table(series, config)
    check_positive(series, config)
    values, row_series = series.values, series.row_series
    train = split.train_mask(len(values))
    kind, per_series = config.scaler.kind, config.scaler.per_series
    scaler = Scaler.fit(kind, values, row_series, series.ids, train, per_series)
    scaled, cycle = scaler.transform(values, series=row_series), None
    if config.scaler.cycle:
        times, period = series.frame.index, config.scaler.cycle
        cycle = fit_on_train_rows(
            scaled[train], times[train], period, series.freq, series.source, series.timezone,
            row_series[train], series.ids,
        )  # fmt: skip
        scaled = scaled - cycle.at(times, series=row_series)
    statics = None if series.statics is None else StaticEncoding.fit(series.statics)
    return ScaledSplit(series, split, scaler, scaled.astype(np.float32), cycle, statics)


def make_train_windows(prepared: ScaledSplit, config: PipelineConfig) -> tuple[Windows, Windows]:
    """Train and validation windows of every series; no window reads a row past its split or crosses a
    series (`train.series_sampling`, `model.series_embedding`)."""
    uniform = config.train.series_sampling == "uniform_series"
    keys = prepared.series.row_series if config.model.series_embedding else None
    k = len(prepared.series.target_columns)
    ahead = config.window.horizon if prepared.series.known_columns else 0
    return split_windows(prepared.scaled, prepared.split, k, uniform, keys, ahead, prepared.static_rows())


def new_forecaster(prepared: ScaledSplit, config: PipelineConfig) -> Forecaster:
    """An untrained forecaster: the network with the seed's initial weights, the scaler, the spec and the
    targets it floors at 0 (`data.nonnegative`, auto read from every series' train and validation rows)."""
    torch.manual_seed(config.train.seed)  # the initial weights too are a function of the seed
    series, window = prepared.series, config.window
    inputs, targets = len(series.input_columns), len(series.target_columns)
    calendar_columns = series.known_columns[len(config.data.future) :]
    future, calendar = (
        [series.input_columns.index(c) for c in part] for part in (config.data.future, calendar_columns)
    )
    statics = prepared.statics.sizes if prepared.statics else ()

    def network(lookback: int, model: ModelConfig) -> BiLSTMNet:
        count, horizon = len(series.ids), window.horizon
        return BiLSTMNet(model, inputs, targets, horizon, lookback, count, future, calendar, statics)

    net = build_network(config.model, window.lookback, network, config.train)
    spec = WindowSpec(
        time_column=config.data.time_column,
        input_columns=series.input_columns,
        target_columns=series.target_columns,
        lookback=window.lookback,
        horizon=window.horizon,
        freq=series.freq,
        timezone=series.timezone,
        zone_recorded=True,
        series_column=series.series_column,
        seasonal_period=season(config.data, series.freq),
        missing=config.data.missing,
        future_columns=list(config.data.future),
        calendar=series.calendar,
        calendar_columns=calendar_columns,
        static_columns=list(config.data.static),
    )
    # every series' train and validation rows: those before its val_end
    known = np.arange(len(series.frame)) < prepared.split.val_end[series.row_series]
    values = series.frame[series.target_columns].to_numpy()[known]
    nonnegative = floored_targets(config.data.nonnegative, values, series.target_columns)
    return Forecaster(
        net, prepared.scaler, spec, prepared.cycle, nonnegative=nonnegative, statics=prepared.statics
    )


def fit_forecaster(
    forecaster: Forecaster,
    windows: tuple[Windows, Windows],
    config: PipelineConfig,
    on_epoch_end: EpochCallback | None = None,
    checkpoint: str | None = None,
    progress: bool | None = None,
) -> TrainingLog:
    """Warm-start the highway (if configured) and train the forecaster's network (each member of an
    ensemble, `model.ensemble`) in place, on `config.train.threads` CPU threads; a run that resumes from
    `checkpoint` takes its weights from there instead. Then calibrate the forecaster's intervals on the
    validation windows."""
    # a recurrent step is many small ops: a second thread gains little on an idle machine and, when
    # another process shares the cores, its barriers wait on a descheduled thread (docs/benchmarks/speed.md)
    torch.set_num_threads(config.train.threads)
    model = forecaster.model
    if isinstance(model, Ensemble):
        training_log = _fit_ensemble(model, windows, config, on_epoch_end, checkpoint, progress)
    else:
        training_log = _fit_network(model, windows, config, config.train, on_epoch_end, checkpoint, progress)
    model.cpu()
    count = len(forecaster.scaler.ids)
    forecaster.intervals = calibrate_intervals(model, windows[1], config, forecaster.spec.period, count)
    return training_log


def _fit_network(
    net: BiLSTMNet,
    windows: tuple[Windows, Windows],
    config: PipelineConfig,
    train_config: TrainConfig,
    on_epoch_end: EpochCallback | None,
    checkpoint: str | None,
    progress: bool | None,
) -> TrainingLog:
    """Warm-start the highway (unless resuming) and train one network."""
    started = time.perf_counter()
    resuming = checkpoint is not None and Path(checkpoint).exists()
    if config.model.highway and config.model.highway_init == "least_squares" and not resuming:
        train, val = windows
        net.fit_highway(_batches(train), _batches(val))
    warm_start_seconds = time.perf_counter() - started
    training_log = fit(net, *windows, train_config, on_epoch_end, checkpoint, progress)
    training_log.train_seconds += warm_start_seconds  # part of what training costs
    return training_log


def _fit_ensemble(
    ensemble: Ensemble,
    windows: tuple[Windows, Windows],
    config: PipelineConfig,
    on_epoch_end: EpochCallback | None,
    checkpoint: str | None,
    progress: bool | None,
) -> TrainingLog:
    """Train the members one after another, each from its own warm start, with its epochs' losses reported
    as `member_<i>_<name>` and its own checkpoint file (removed once every member is trained); then combine
    them by median or mean (`model.ensemble_combine`, auto: the lower validation loss). The log is the
    first member's curves, with every member's log, the combinations' validation losses and the seconds
    of all."""
    members = plan_members(config.model, config.train, config.window.lookback)
    files = [None if checkpoint is None else f"{checkpoint}.member{i}" for i in range(len(members))]
    logs = []
    for i, (net, member, file) in enumerate(zip(ensemble.members, members, files, strict=True)):
        report = None if on_epoch_end is None else _member_reporter(on_epoch_end, i)
        logs.append(
            _fit_network(net, windows, config, member.train_config(config.train), report, file, progress)
        )
    val, every = windows[1], slice(None)
    series, static = val.series_of(every), val.static_of(every)
    outputs = torch.stack([predict(net, val.inputs, series, static=static) for net in ensemble.members])
    median, losses = choose_combination(outputs, val.targets.cpu(), loss_function(config.train.loss))
    if config.model.ensemble_combine != "auto":
        median = config.model.ensemble_combine == "median"
    ensemble.median.fill_(median)
    for file in files:
        if file is not None:
            Path(file).unlink(missing_ok=True)
    first = logs[0]
    return replace(
        first,
        train_seconds=sum(log.train_seconds for log in logs),
        samples_seen=sum(log.samples_seen for log in logs),
        members=logs,
        combination_losses=losses,
    )


def _member_reporter(on_epoch_end: EpochCallback, index: int) -> EpochCallback:
    return lambda epoch, losses: on_epoch_end(epoch, {f"member_{index}_{k}": v for k, v in losses.items()})


def calibrate_intervals(
    model: BiLSTMNet | Ensemble, val: Windows, config: PipelineConfig, period: int, count: int = 1
) -> ConformalIntervals | None:
    """Intervals by `config.intervals.method` from the trained network's residuals on the validation windows,
    which it never trained on; in scaled units (a removed cycle is in truth and forecast alike). A window's
    volatility (scaled-residuals) reads its last `period` input steps, the seasonal period. None when no
    levels are configured. Of `count` series: pooled over them or per series, as `choose_pooling` picks."""
    if not config.intervals.levels:
        return None
    targets = val.targets.numpy()
    # outputs (N, T) or (N, T, k) -> (N, T, k)
    every = slice(None)
    outputs = predict(model, val.inputs, val.series_of(every), static=val.static_of(every))
    outputs = outputs.numpy().reshape(targets.shape)
    # a window's volatility is of its lookback rows: never of the horizon's, which hold the truth
    method, levels, inputs = (
        config.intervals.method,
        config.intervals.levels,
        val.inputs[:, : val.lookback].numpy(),
    )
    intervals = calibrate(method, targets - outputs, inputs, levels, period)
    if count == 1 or val.window_series is None:
        return intervals
    return choose_pooling(intervals, targets - outputs, inputs, val.window_series, count)


def _batches(windows: Windows):
    return (windows.batch(slice(s, s + _FIT_BATCH)) for s in range(0, len(windows), _FIT_BATCH))


def kept_start_note(config: PipelineConfig) -> str:
    """What it means that no epoch beat the starting weights (`TrainingLog.best_epoch == 0`)."""
    warm = config.model.highway and config.model.highway_init == "least_squares"
    start = "the linear warm start" if warm else "the initial weights"
    return f"no epoch beat {start} on the validation windows: {start} was kept (best epoch 0)"


def evaluate_forecaster(forecaster: Forecaster, prepared: ScaledSplit) -> Evaluation:
    """Score on every test window of every series, with the split's (current) scaler as the reference."""
    return evaluate(forecaster, prepared)


def run(config: PipelineConfig, progress: bool | None = None) -> tuple[Forecaster, TrainingLog, Evaluation]:
    """Ingest, fill in the settings left to the data, split, scale, window, train and evaluate, in one
    process, with nothing tracked."""
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = split_and_scale(series, config)
    forecaster = new_forecaster(prepared, config)
    training_log = fit_forecaster(forecaster, make_train_windows(prepared, config), config, progress=progress)
    return forecaster, training_log, evaluate_forecaster(forecaster, prepared)
