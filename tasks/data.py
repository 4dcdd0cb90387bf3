"""Tasks that read the data set (one series, or the many of a long table), split and scale it, and cut it into
windows."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TypeVar

import mlflow
import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from bilstm import defaults, pipeline
from bilstm.config import CsvConfig, DataConfig, PipelineConfig
from bilstm.data import SeriesTable, builtin_path, load_table, read_table
from bilstm.forecaster import Forecaster
from bilstm.frequency_match import check_frequency
from bilstm.messages import names
from bilstm.stamps import as_text
from bilstm.url_masking import masked_urls
from bilstm.windows import Windows
from bilstm.zone_match import check_zone
from tasks import read_once
from tasks.retries import IO_RETRIES

T = TypeVar("T")


def loaded_with_notes(load: Callable[[DataConfig], T], config: DataConfig) -> T:
    """`load(config)` with what it warns of (gaps, sorting, mixed offsets) logged and kept as the data's
    `notes`, which the run's summary lists among its warnings; the command line's read of the same file in
    this process, where it kept one (`tasks.read_once`), stands for the load."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = read_once.take(load, config)
    data.notes = [masked_urls(str(w.message)) for w in caught if issubclass(w.category, UserWarning)]
    if data.notes:
        try:
            logger = get_run_logger()
        except MissingContextError:  # the task's function called outside a run: the notes alone tell
            return data
        for note in data.notes:
            logger.warning(note)
    return data


def read_as_model_reads(
    forecaster: Forecaster, data: str | None, csv: CsvConfig | None, what: str
) -> SeriesTable:
    """`data` (None: the built-in set) read as `forecaster` reads it: its columns, zone and `data.missing`,
    the separator and decimal mark of `csv`; what reading noticed kept as its notes; refused at another
    frequency than the model's, or in a zone it cannot read. `what` names the data in the fix for a missing
    column ("a history")."""
    spec = forecaster.spec
    if spec.recorded_zone is not None:  # the stamps as written: reading them in the model's zone converts
        source = data or builtin_path()
        check_zone(read_table(source, csv), source, spec.time_column, spec.recorded_zone, spec.freq)
    fix = f"the model was trained on columns {names(forecaster.spec.file_columns)}: pass {what} with them"
    read = loaded_with_notes(
        lambda config: load_table(config, missing_column_fix=fix), forecaster.data_config(data, csv)
    )
    check_frequency(read.freq, forecaster.spec.freq, read.source)
    return read


@task(**IO_RETRIES)
def ingest(config: DataConfig) -> SeriesTable:
    """Read and validate the data set; log it to MLflow as the run's training input."""
    series = loaded_with_notes(load_table, config)
    frame, targets, digest = series.frame.reset_index(), series.target_columns, series.digest()
    tags = {"data.digest": digest, "data.freq": series.freq, "data.rows": len(frame)}
    if series.series_column is not None:
        frame.insert(0, series.series_column, np.repeat(series.ids, series.lengths))
        tags |= {"data.series": len(series.ids), "data.series_column": series.series_column}
    frame = as_text(frame, series.timezone)  # stamps with offsets as text: MLflow's schema has no zones
    # an MLflow dataset names one target column; several (setting M) are in the data.targets tag only;
    # its digest is ours, so the UI's dataset panel and the data.digest tag show the same one
    dataset = mlflow.data.from_pandas(
        frame,
        source=masked_urls(series.source),  # the UI shows it: no password or token of a data URL
        name=series.name,
        targets=targets[0] if len(targets) == 1 else None,
        digest=digest,
    )
    mlflow.log_input(dataset, context="training")
    mlflow.set_tags(tags | {"data.targets": ",".join(targets)})
    return series


@task(cache_policy=NO_CACHE)
def fit_settings_to_data(config: PipelineConfig, series: SeriesTable) -> defaults.Resolved:
    """Fill in the settings left to the data (lookback, segment length); log them and the seasonal period."""
    resolved, logger = defaults.resolve(config, series), get_run_logger()
    if series.series_column is not None:
        logger.info(
            "%d series, %d to %d rows each", len(series.ids), series.lengths.min(), series.lengths.max()
        )
    mlflow.log_params({**resolved.derived, "data.seasonal_period": resolved.period})
    derived = ", ".join(f"{key}={value}" for key, value in resolved.derived.items())
    logger.info(
        "Seasonal period of %s data: %d steps%s",
        series.freq,
        resolved.period,
        f"; from it: {derived}" if derived else "",
    )
    for warning in resolved.warnings:
        logger.warning(warning)
    return resolved


@task(cache_policy=NO_CACHE)
def split_and_scale(series: SeriesTable, config: PipelineConfig) -> pipeline.ScaledSplit:
    """Split by time and fit the scaler on the train rows only (of each series)."""
    prepared = pipeline.split_and_scale(series, config)
    if series.series_column is not None:
        mlflow.log_params({"split.series": len(prepared.series.ids), "split.kind": config.data.split})
        return prepared
    train_end, val_end, test_end = prepared.split.borders()
    mlflow.log_params({"split.train_end": train_end, "split.val_end": val_end, "split.test_end": test_end})
    return prepared


@task(cache_policy=NO_CACHE)
def make_windows(prepared: pipeline.ScaledSplit, config: PipelineConfig) -> tuple[Windows, Windows]:
    """Train and validation windows (strided views; nothing is copied per window)."""
    train, val = pipeline.make_train_windows(prepared, config)
    mlflow.log_params({"windows.train": len(train), "windows.val": len(val)})
    return train, val
