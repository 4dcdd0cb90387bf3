"""The bad-input catalogue: every case runs the installed `bilstm` command against one store that holds a
champion, exits 2 with one line naming the file / column / row / parameter, leaves the registry (versions
and aliases) as it was, and leaves the Prefect flow run and the MLflow run it opened, if any, FAILED. Bad
input to `bilstm train` is rejected before any flow run or MLflow run starts (`bilstm.preflight`)."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import BILSTM, flow_run_states, synthetic_frame
from tests.helpers import tiny_args

TINY = tiny_args(epochs=3)  # enough for the setup run to beat both baselines and become champion
FORECAST = "bilstm-forecasts"  # the experiment a failed forecast run lands in


def _with_gap(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows 301.. shifted 10 hours later: a gap of 11 steps after row 300."""
    shifted = frame.timestamp.where(frame.index < 300, frame.timestamp + pd.Timedelta(hours=10))
    return frame.assign(timestamp=shifted)


# file name -> how it is made from the good synthetic series
BAD_FILES = {
    "no_time.csv": lambda f: f.drop(columns="timestamp"),
    "bad_time.csv": lambda f: f.assign(timestamp=f.timestamp.astype(str).where(f.index != 9, "soon")),
    "duplicate_time.csv": lambda f: f.assign(timestamp=f.timestamp.where(f.index != 5, f.timestamp[4])),
    "gap.csv": _with_gap,
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
    "offsets_and_none.csv": lambda f: f.assign(
        timestamp=f.timestamp.dt.tz_localize("UTC").astype(str).where(f.index != 11, str(f.timestamp[11]))
    ),
}

CASES = [
    # (id, command line with {d} for the case folder, regex of the error line, experiment of a FAILED run:
    # None where the command rejects the input before any flow or MLflow run starts)
    ("missing file", "train --data {d}/nowhere.csv", r"{d}/nowhere\.csv: file not found", None),
    ("empty file", "train --data {d}/empty.csv", r"{d}/empty\.csv: the file has no data rows", None),
    ("unreadable file", "train --data {d}/binary.csv", r"{d}/binary\.csv: cannot be read", None),
    ("unsupported format", "train --data {d}/data.xlsx", r"{d}/data\.xlsx: unsupported format", None),
    (
        "missing time column",
        "train --data {d}/no_time.csv",
        r"{d}/no_time\.csv: time column 'timestamp' not found; available: x, y",
        None,
    ),
    (
        "unparseable timestamps",
        "train --data {d}/bad_time.csv",
        r"{d}/bad_time\.csv: column 'timestamp' has unparseable timestamps in row 10 \(e\.g\. 'soon'\)",
        None,
    ),
    (
        "duplicate timestamps",
        "train --data {d}/duplicate_time.csv",
        r"{d}/duplicate_time\.csv: column 'timestamp' has duplicate timestamps in rows 5, 6",
        None,
    ),
    (
        "irregular gap beyond max_gap",
        "train --data {d}/gap.csv",
        r"{d}/gap\.csv: a gap of 0 days 11:00:00 between rows 300 and 301 .* longer than data\.max_gap=3"
        r" steps of h; fill or resample the missing timestamps, or raise data\.max_gap",
        None,
    ),
    (
        "NaN in target",
        "train --data {d}/nan_target.csv",
        r"{d}/nan_target\.csv: column 'y' has missing values in rows 201, 202; fill them or set data\.",
        None,
    ),
    (
        "inf in feature",
        "train --data {d}/inf_feature.csv",
        r"{d}/inf_feature\.csv: column 'x' has inf in row 8",
        None,
    ),
    (
        "non-numeric feature",
        "train --data {d}/text_feature.csv",
        r"{d}/text_feature\.csv: column 'x' is not numeric \(row 4, e\.g\. 'abc'\)",
        None,
    ),
    (
        "target column missing",
        "train --data {d}/no_target.csv",
        r"{d}/no_target\.csv: column 'y' not found; available: timestamp, x; choose the target with"
        r" --target$",
        None,
    ),
    (
        "missing values in two columns",
        "train --data {d}/nan_two_columns.csv",
        r"{d}/nan_two_columns\.csv: column 'x' has missing values in rows 8, 9, column 'y' in row 201;"
        r" fill them",
        None,
    ),
    (
        "several series in one long table",
        "train --data {d}/long_table.csv",
        r"{d}/long_table\.csv: column 'timestamp' has duplicate timestamps in rows 1, 2, 3, 4, 5 \(and 2395"
        r" more\): this looks like 2 series in one table, told apart by column 'sensor'; many series in one"
        r" file are not supported yet: filter one series into its own file$",
        None,
    ),
    (
        "stamps with and without offsets",
        "train --data {d}/offsets_and_none.csv",
        r"{d}/offsets_and_none\.csv: column 'timestamp' mixes stamps with a UTC offset \(e\.g\. '2024-01-01"
        r" 00:00:00\+00:00'\) and stamps without one \(row 12\); write every stamp with its offset, or none$",
        None,
    ),
    (
        "unknown time zone",
        "train --data {d}/good.csv --set data.timezone=Europe/Berln",
        r"invalid config: data\.timezone: unknown time zone 'Europe/Berln'; use an IANA name",
        None,
    ),
    (
        "too few rows",
        "train --data {d}/few_rows.csv",
        r"{d}/few_rows\.csv: too few rows \(60\) for lookback 48 \+ horizon 12",
        None,
    ),
    (
        "constant target",
        "train --data {d}/constant_target.csv",
        r"{d}/constant_target\.csv: target column 'y' is constant \(5\) in the train rows 1-840",
        None,
    ),
    (
        "lookback 0",
        "train --data {d}/good.csv --lookback 0",
        r"window\.lookback: Input should be greater",
        None,
    ),
    (
        "absurd horizon",
        "train --data {d}/good.csv --horizon 1000000",
        r"window\.horizon: Input should be less than or equal to 10000",
        None,
    ),
    (
        "invalid config value",
        "train --data {d}/good.csv --set train.lr=-1",
        r"invalid config: train\.lr: Input should be greater than 0 \(got -1\)",
        None,
    ),
    (
        "cycle the train rows cannot fill",
        "train --data {d}/good.csv --set scaler.cycle=5000",
        r"{d}/good\.csv: scaler\.cycle=5000: the train rows miss phase\(s\) \[\d+, .*\] of the period;"
        r" use a shorter cycle or more train rows",
        None,
    ),
    (
        "invalid max_gap",
        "train --data {d}/good.csv --set data.max_gap=0.5",
        r"invalid config: data\.max_gap: Input should be greater than or equal to 1",
        None,
    ),
    ("unknown config key", "train --set model.size=3", r"unknown config key 'model\.size'", None),
    (
        "unknown preset",
        "train --preset etth1-s5",
        r"--preset: unknown preset 'etth1-s5'; available: etth1-m96, etth1-s24, etth1-s96",
        None,
    ),
    (
        "segment length 0",
        "train --data {d}/good.csv --set model.patch_len=0",
        r"invalid config: model\.patch_len: Input should be greater than or equal to 1",
        None,
    ),
    (
        "channel independence with MS",
        "train --data {d}/good.csv --set model.channel_independent=true",
        r"invalid config: model\.channel_independent needs data\.setting S or M: with MS the features are"
        r" inputs only$",
        None,
    ),
    ("missing config file", "train --config {d}/none.yaml", r"--config {d}/none\.yaml: file not found", None),
    (
        "config file not YAML",
        "train --config {d}/broken.yaml",
        r"--config {d}/broken\.yaml: not valid YAML or JSON",
        None,
    ),
    (
        "unknown model alias",
        "forecast --model models:/bilstm-forecaster@nope --data {d}/good.csv --output {d}/f1.csv",
        r"models:/bilstm-forecaster@nope: .*nope.*; see the Models page",
        FORECAST,
    ),
    (
        "unknown model name",
        "forecast --model models:/no-such-model@champion --data {d}/good.csv --output {d}/f2.csv",
        r"models:/no-such-model@champion: .*no-such-model.*; see the Models page",
        FORECAST,
    ),
    (
        "history lacks a column",
        "forecast --data {d}/no_target.csv --output {d}/f3.csv",
        r"{d}/no_target\.csv: column 'y' not found; available: timestamp, x; the model was trained on"
        r" columns x, y: pass a history with them$",
        FORECAST,
    ),
    (
        "history with other columns",
        "forecast --data {d}/renamed_columns.csv --output {d}/f4.csv",
        r"{d}/renamed_columns\.csv: column 'x' not found; available: timestamp, temperature, y",
        FORECAST,
    ),
    (
        "history shorter than lookback",
        "forecast --data {d}/short_history.csv --output {d}/f5.csv",
        r"{d}/short_history\.csv: the history has 20 rows; the model needs the last 48: pass a longer",
        FORECAST,
    ),
    (
        "history file missing",
        "forecast --data {d}/nowhere.csv --output {d}/f10.csv",
        r"{d}/nowhere\.csv: file not found; pass an existing CSV or Parquet file",
        None,
    ),
    (
        "output folder missing",
        "forecast --data {d}/good.csv --output {d}/no/f6.csv",
        r"{d}/no/f6\.csv: folder {d}/no does not exist; create it or choose another output",
        None,
    ),
    (
        "output format unsupported",
        "forecast --data {d}/good.csv --output {d}/f7.xlsx",
        r"{d}/f7\.xlsx: unsupported output format; use a \.csv or \.parquet file name",
        None,
    ),
    (
        "plot folder missing",
        "forecast --data {d}/good.csv --output {d}/f8.csv --plot {d}/no/plot.png",
        r"{d}/no/plot\.png: folder {d}/no does not exist; create it or choose another plot",
        None,
    ),
    (
        "plot format unsupported",
        "forecast --data {d}/good.csv --output {d}/f9.csv --plot {d}/plot.jpg",
        r"{d}/plot\.jpg: unsupported plot format; use a \.png, \.svg or \.pdf file name",
        None,
    ),
]


def registry(client: MlflowClient) -> list:
    """(model, aliases, versions) of every registered model: what a bad input must leave untouched."""
    return sorted(
        (
            model.name,
            tuple(sorted((alias, str(version)) for alias, version in model.aliases.items())),
            tuple(sorted(str(v.version) for v in client.search_model_versions(f"name='{model.name}'"))),
        )
        for model in client.search_registered_models()
    )


def runs(client: MlflowClient) -> dict[str, tuple[str, str]]:
    """run id -> (experiment name, status) of every MLflow run in the store."""
    names = {e.experiment_id: e.name for e in client.search_experiments()}
    return {
        r.info.run_id: (names[r.info.experiment_id], r.info.status) for r in client.search_runs(list(names))
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory, prefect_server):
    """A folder with the bad files and an MLflow store whose `bilstm-forecaster` has a champion."""
    from prefect.settings import PREFECT_API_URL

    folder = tmp_path_factory.mktemp("bad-inputs")
    good = synthetic_frame()
    good.to_csv(folder / "good.csv", index=False)
    for name, make in BAD_FILES.items():
        make(good.copy()).to_csv(folder / name, index=False)
    (folder / "empty.csv").write_text("timestamp,x,y\n")
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (folder / "data.xlsx").write_text("not a spreadsheet")
    (folder / "broken.yaml").write_text("train: [epochs: 3\n")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    env = dict(
        os.environ,
        PREFECT_API_URL=PREFECT_API_URL.value(),
        MLFLOW_TRACKING_URI=uri,
        BILSTM_HOME=str(folder / "bilstm-home"),
        BILSTM_MALLOC_TUNING="0",  # no re-exec of `bilstm train` with tuned malloc: half the start-up cost
    )

    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [BILSTM, *args], capture_output=True, text=True, cwd=folder, env=env, timeout=600
        )

    setup = run(["train", "--data", str(folder / "good.csv"), *TINY])
    assert setup.returncode == 0, setup.stderr[-3000:]
    client = MlflowClient(uri, registry_uri=uri)
    assert "champion" in client.get_registered_model("bilstm-forecaster").aliases
    return folder, run, client


@pytest.mark.parametrize(("args", "message", "experiment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_names_the_culprit_and_leaves_the_registry_alone(store, args, message, experiment):
    folder, run, client = store
    d = str(folder)
    argv = args.format(d=d).split()
    if argv[0] == "train" and "--config" not in argv:
        argv[1:1] = TINY  # the tiny job on the synthetic files; the case's own options come later and win
    registry_before, runs_before, flow_runs_before = registry(client), runs(client), flow_run_states()

    result = run(argv)

    assert result.returncode == 2, result.stderr[-3000:]
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr[-3000:]
    assert re.search(message.format(d=re.escape(d)), error_lines[0]), error_lines[0]
    assert "Traceback" not in result.stderr
    assert registry(client) == registry_before
    new_runs = {k: v for k, v in runs(client).items() if k not in runs_before}
    assert list(new_runs.values()) == ([(experiment, "FAILED")] if experiment else [])
    new_flow_runs = [state for k, state in flow_run_states().items() if k not in flow_runs_before]
    assert new_flow_runs == (["FAILED"] if experiment else [])
    for option in ("--output", "--plot"):  # a bad plot path is refused before the forecast is written
        if option in argv:
            output = argv[argv.index(option) + 1]
            assert not os.path.exists(output)
            folder_of_output = os.path.dirname(output)
            if os.path.isdir(folder_of_output):
                assert not [p for p in os.listdir(folder_of_output) if p.endswith(".partial")]


def test_unsorted_history_is_sorted_with_a_warning(store):
    """Documented behaviour, not an error: rows are sorted by time (with a warning naming the file)."""
    folder, run, client = store
    history = folder / "unsorted.csv"
    synthetic_frame().iloc[::-1].to_csv(history, index=False)
    registry_before = registry(client)

    result = run(["forecast", "--data", str(history), "--output", str(folder / "unsorted-forecast.csv")])

    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{history}: timestamps were not sorted; sorted them by 'timestamp'" in result.stderr
    forecast = pd.read_csv(folder / "unsorted-forecast.csv", parse_dates=["timestamp"])
    # the forecast continues after the LATEST timestamp, not after the file's last (earliest) row
    assert forecast.timestamp.iloc[0] == synthetic_frame().timestamp.max() + pd.Timedelta(hours=1)
    assert registry(client) == registry_before
