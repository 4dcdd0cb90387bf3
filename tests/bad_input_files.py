"""What the bad-input catalogue (`tests/bad_input_cases.py`) runs on: the bad files, each made from the good
synthetic series, the training that registers the champion they must leave alone, and reading a command's
answer (its error and warning lines, the registry afterwards)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from tests.helpers import synthetic_frame, tiny_args


def _with_gap(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows 301.. shifted 10 hours later: a gap of 11 steps after row 300."""
    shifted = frame.timestamp.where(frame.index < 300, frame.timestamp + pd.Timedelta(hours=10))
    return frame.assign(timestamp=shifted)


# file name -> how it is made from the good synthetic series (good.csv)
BAD_FILES: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "no_time.csv": lambda f: f.drop(columns="timestamp"),
    "bad_time.csv": lambda f: f.assign(timestamp=f.timestamp.astype(str).where(f.index != 9, "soon")),
    "duplicate_time.csv": lambda f: f.assign(timestamp=f.timestamp.where(f.index != 5, f.timestamp[4])),
    "gap.csv": _with_gap,
    "off_grid.csv": lambda f: f.assign(
        timestamp=f.timestamp.where(f.index != 300, f.timestamp[300] + pd.Timedelta(minutes=30))
    ),
    "nan_target.csv": lambda f: f.assign(y=f.y.where(~f.index.isin([200, 201]))),
    "inf_feature.csv": lambda f: f.assign(x=f.x.where(f.index != 7, np.inf)),
    "text_feature.csv": lambda f: f.assign(x=f.x.astype(object).where(f.index != 3, "abc")),
    "no_target.csv": lambda f: f.drop(columns="y"),
    "few_rows.csv": lambda f: f.head(60),
    "constant_target.csv": lambda f: f.assign(y=5.0),
    "renamed_columns.csv": lambda f: f.rename(columns={"x": "temperature"}),
    "short_history.csv": lambda f: f.head(20),
    "nan_two_columns.csv": lambda f: f.assign(
        x=f.x.where(~f.index.isin([7, 8])), y=f.y.where(f.index != 200)
    ),
    "long_table.csv": lambda f: pd.concat([f.assign(sensor="north"), f.assign(sensor="south")]),
    "long_table_no_id.csv": lambda f: pd.concat(
        [f.assign(sensor="north"), f.assign(sensor=["south"] * 6 + [None] + ["south"] * (len(f) - 7))]
    ),
    "long_table_short.csv": lambda f: pd.concat(
        [f.assign(sensor="north"), f.tail(50).assign(sensor="south")]
    ),
    "long_table_cycle.csv": lambda f: pd.concat(
        [f.assign(sensor="north"), f.tail(150).assign(sensor="south")]
    ),
    "long_table_folds_short.csv": lambda f: pd.concat(  # south fits the split, not 3 folds
        [f.assign(sensor="north"), f.tail(100).assign(sensor="south")]
    ),
    "long_table_repeat.csv": lambda f: pd.concat(
        [f.assign(sensor="north"), f.assign(sensor="south"), f.iloc[[3]].assign(sensor="south")]
    ),
    "long_table_static.csv": lambda f: pd.concat(  # south's region changes at its 11th row
        [
            f.assign(sensor="north", region="hills"),
            f.assign(sensor="south", region=["coast"] * 10 + ["delta"] + ["coast"] * (len(f) - 11)),
        ]
    ),
    "offsets_and_none.csv": lambda f: f.assign(
        timestamp=f.timestamp.dt.tz_localize("UTC").astype(str).where(f.index != 11, str(f.timestamp[11]))
    ),
    "unsorted.csv": lambda f: f.iloc[::-1],
    "daily.csv": lambda f: f.assign(timestamp=pd.date_range("2021-01-01", periods=len(f), freq="D")),
    "zoned.csv": lambda f: f.assign(timestamp=f.timestamp.dt.tz_localize("+08:00").astype(str)),
}
# file name -> the CSV dialect the good synthetic series is written in
DIALECT_FILES = {"semicolon.csv": {"sep": ";", "decimal": ","}}
# files that are not a table of the series at all
RAW_FILES = {
    "empty.csv": b"timestamp,x,y\n",
    "binary.csv": bytes(range(256)) * 4,
    "data.xlsx": b"not a spreadsheet",
    "broken.yaml": b"train: [epochs: 3\n",
    "space_unknown_field.yaml": b"model.hiden_size: {choices: [8, 16]}\n",
    "space_empty_range.yaml": b"train.lr: {low: 0.01, high: 0.001}\n",
    "space_step_zero.yaml": b"model.dropout: {low: 0.0, high: 0.5, step: 0}\n",
    "space_lr.yaml": b"train.lr: {low: 1.0e-3, high: 1.0e-2, log: true}\n",
    "space_infinite.yaml": b"train.lr: {low: 1.0e-4, high: .inf, log: true}\n",
}
FOLDERS = ["folder.csv"]  # a folder where a file is asked for


def write_files(folder: Path) -> None:
    """good.csv (the synthetic series), every bad file made from it, it in other CSV dialects, the raw
    files and the folders, in `folder`."""
    good = synthetic_frame()
    good.to_csv(folder / "good.csv", index=False)
    for name, make in BAD_FILES.items():
        make(good.copy()).to_csv(folder / name, index=False)
    for name, dialect in DIALECT_FILES.items():
        good.to_csv(folder / name, index=False, **dialect)
    for name, content in RAW_FILES.items():
        (folder / name).write_bytes(content)
    for name in FOLDERS:
        (folder / name).mkdir()


def setup_argv(folder: Path) -> list[str]:
    """The training that registers the champion every case must leave alone (3 epochs beat both
    baselines, so it is promoted)."""
    return ["train", "--data", str(folder / "good.csv"), *tiny_args(epochs=3)]


MODEL_WITHOUT_CHAMPION = "bilstm-no-champion"
MANY_SERIES_MODEL = "bilstm-many"  # the champion's bundle, tagged as a model of the series column `sensor`


def register_monitor_models(client) -> None:
    """The registered models the monitor's cases need beside the champion, with an `MlflowClient` of the
    catalogue's store after the setup training: one without a champion (nor any version), and one whose
    champion's job reads many series (what the command checks before loading the model)."""
    client.create_registered_model(MODEL_WITHOUT_CHAMPION)
    champion = client.get_model_version_by_alias("bilstm-forecaster", "champion")
    client.create_registered_model(MANY_SERIES_MODEL)
    tags = champion.tags | {"job.series_column": "sensor"}
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(client.tracking_uri)  # where MLflow looks the bundle's logged model up
    try:
        version = client.create_model_version(MANY_SERIES_MODEL, champion.source, champion.run_id, tags=tags)
    finally:
        mlflow.set_tracking_uri(before)
    client.set_registered_model_alias(MANY_SERIES_MODEL, "champion", version.version)


def error_lines(stderr: str) -> list[str]:
    """The `error: ` lines of a command's stderr, without that prefix."""
    return [line.removeprefix("error: ") for line in stderr.splitlines() if line.startswith("error: ")]


def warning_lines(stderr: str) -> list[str]:
    """The messages of the Python warnings and of the `WARNING: ` lines in a command's stderr."""
    lines = stderr.splitlines()
    python = [line.split("UserWarning: ", 1)[1] for line in lines if "UserWarning: " in line]
    return python + [line.removeprefix("WARNING: ") for line in lines if line.startswith("WARNING: ")]


def registry(client) -> list:
    """(model, aliases, versions) of every registered model of an `MlflowClient`: what a bad input must
    leave untouched."""
    return sorted(
        (
            model.name,
            tuple(sorted((alias, str(version)) for alias, version in model.aliases.items())),
            tuple(sorted(str(v.version) for v in client.search_model_versions(f"name='{model.name}'"))),
        )
        for model in client.search_registered_models()
    )
