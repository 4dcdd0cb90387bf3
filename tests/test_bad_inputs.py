"""The bad-input catalogue: every case runs the installed `bilstm` command against one store that holds a
champion, exits 2 with one line naming the file / column / row / parameter, leaves the registry (versions
and aliases) as it was, and leaves the Prefect flow run and the MLflow run it opened, if any, FAILED. Bad
input to `bilstm train` is rejected before any flow run or MLflow run starts (`deployments.preflight`); each
bad training file is refused alike, in process, when written as a long table of two series."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import fields, replace

import pandas as pd
import pytest
import typer
from mlflow import MlflowClient

from bilstm.errors import BadInputError
from deployments.cli import app
from deployments.cli_options import JobOptions
from deployments.preflight import check_training_input
from tests.bad_input_cases import CASES
from tests.bad_input_files import (
    BAD_FILES,
    DIALECT_FILES,
    error_lines,
    register_monitor_models,
    registry,
    setup_argv,
    warning_lines,
    write_files,
)
from tests.helpers import BILSTM, flow_run_states, synthetic_frame

ERRORS = [case for case in CASES if not case.warns]
WARNS = {case.name: case for case in CASES if case.warns}  # documented behaviour, with a warning
UNSORTED = WARNS["unsorted history (sorted, warns)"]
FEW_WINDOWS = WARNS["too few validation windows for the 95 % band (widened, warns)"]


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
    write_files(folder)
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

    setup = run(setup_argv(folder))
    assert setup.returncode == 0, setup.stderr[-3000:]
    client = MlflowClient(uri, registry_uri=uri)
    assert "champion" in client.get_registered_model("bilstm-forecaster").aliases
    register_monitor_models(client)
    return folder, run, client


@pytest.mark.parametrize("case", ERRORS, ids=[case.name for case in ERRORS])
def test_bad_input_exits_2_names_the_culprit_and_leaves_the_registry_alone(store, case):
    folder, run, client = store
    argv = case.argv(folder)
    registry_before, runs_before, flow_runs_before = registry(client), runs(client), flow_run_states()

    result = run(argv)

    assert result.returncode == 2, result.stderr[-3000:]
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr[-3000:]
    assert re.search(case.pattern(folder), errors[0]), errors[0]
    assert "Traceback" not in result.stderr
    assert registry(client) == registry_before
    new_runs = {k: v for k, v in runs(client).items() if k not in runs_before}
    assert list(new_runs.values()) == ([(case.experiment, "FAILED")] if case.experiment else [])
    new_flow_runs = [state for k, state in flow_run_states().items() if k not in flow_runs_before]
    assert new_flow_runs == (["FAILED"] if case.experiment else [])
    # a bad plot path is refused before the forecast is written, and no half-written file is left behind
    outputs = [argv[i + 1] for i, option in enumerate(argv) if option in ("--output", "--plot")]
    assert [path for path in outputs if os.path.isfile(path)] == []
    assert list(folder.glob("**/*.partial")) == []


def test_unsorted_history_is_sorted_with_a_warning(store):
    """Documented behaviour, not an error: rows are sorted by time (with a warning naming the file)."""
    folder, run, client = store
    argv = UNSORTED.argv(folder)
    registry_before = registry(client)

    result = run(argv)

    assert result.returncode == 0, result.stderr[-3000:]
    assert error_lines(result.stderr) == []
    assert [line for line in warning_lines(result.stderr) if re.search(UNSORTED.pattern(folder), line)], (
        result.stderr[-3000:]
    )
    forecast = pd.read_csv(argv[argv.index("--output") + 1], parse_dates=["timestamp"])
    # the forecast continues after the LATEST timestamp, not after the file's last (earliest) row
    assert forecast.timestamp.iloc[0] == synthetic_frame().timestamp.max() + pd.Timedelta(hours=1)
    assert registry(client) == registry_before


def test_a_band_too_few_validation_windows_support_is_widened_with_one_warning_in_the_json_too(store):
    """Documented behaviour, not an error: with 13 validation windows the 95 % band is the largest residual
    times a normal tail's factor, wider than the 80 % one, said in one WARNING line and in --json's list."""
    folder, run, _ = store

    result = run(FEW_WINDOWS.argv(folder))

    assert result.returncode == 0, result.stderr[-3000:]
    said = [line for line in warning_lines(result.stderr) if re.search(FEW_WINDOWS.pattern(folder), line)]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(said) == 1 and said == [line for line in summary["warnings"] if "band" in line]
    assert summary["metrics"]["test_width_95"] > summary["metrics"]["test_width_80"]


# catalogue cases of `bilstm train` on a CSV that a long table does not repeat, and why
NOT_LONG = {
    **dict.fromkeys(
        ["missing file", "empty file", "unreadable file", "unsupported format"],
        "no table to write as one: refused before any column, the series column included, is read",
    ),
    **dict.fromkeys(
        [
            "separator of two characters",
            "unknown time zone",
            "lookback 0",
            "absurd horizon",
            "invalid config value",
            "invalid max_gap",
            "interval levels not increasing",
            "interval level of 100",
            "unknown interval method",
            "segment length 0",
            "channel independence with MS",
            "unknown gate metric",
            "gate on OWA over backtest folds",
            "infinite learning rate",
            "model name MLflow cannot register",
            "nonnegative neither auto nor a boolean",
            "a column that is both a target and a future column",
            "a holiday calendar of an unknown country",
            "a column that is both a target and a static column",
            "log ratios of values centred on 0",
            "a loss of logs on values centred on 0",
            "an ensemble member longer than the windows",
        ],
        "a setting refused as the config is built, before the data is read: no rows to put in a series",
    ),
    "too few validation windows for the 95 % band (widened, warns)": "a warning of the flow, not a refusal",
    "a CUDA device this machine does not have": "the machine is refused, not the data",
}
# how the good series of a long table is written where the bad file changes the format of every stamp
OTHER_SERIES = {"offsets_and_none.csv": lambda f: f.assign(timestamp=f.timestamp.dt.tz_localize("UTC"))}
TRAIN_ON_CSV = [case for case in CASES if case.args.startswith("train --data {d}/")]
NOT_LONG |= {
    case.name: "a long table already: the case itself is of many series"
    for case in TRAIN_ON_CSV
    if "--series-column" in case.args or case.name == "several series in one long table"
}


def _as_long_table(name: str, folder) -> None:
    """The catalogue's bad file `name` as a long table of 2 series: 'south', the bad one, first (so its file
    rows are the one-series file's), then 'north', a good series in the same columns and format."""
    bad = BAD_FILES.get(name, lambda f: f)(synthetic_frame())
    good = OTHER_SERIES.get(name, lambda f: f)(synthetic_frame(seed=1))
    if len(good.columns) == len(bad.columns):
        good.columns = bad.columns  # a renamed column is renamed in the whole file
    good = good[[c for c in bad.columns if c in good.columns]]  # and a dropped one dropped
    frame = pd.concat([bad.assign(sensor="south"), good.assign(sensor="north")])
    frame.to_csv(folder / name, index=False, **DIALECT_FILES.get(name, {}))


def _refusal(argv: list[str], series_column: str | None) -> str:
    """The message `check_training_input` refuses the `bilstm train` command line `argv` with."""
    options = typer.main.get_command(app).commands["train"].make_context("train", argv[1:]).params
    job = replace(
        JobOptions(**{f.name: options[f.name] for f in fields(JobOptions)}), series_column=series_column
    )
    with pytest.raises(BadInputError) as refused:
        check_training_input(job.build())
    return str(refused.value)


AS_LONG = [case for case in TRAIN_ON_CSV if case.name not in NOT_LONG]


def test_every_case_left_out_of_the_long_table_check_is_a_catalogue_case():
    # a renamed or removed case must not leave a stale reason behind, which would hide a new case
    assert set(NOT_LONG) <= {case.name for case in CASES}


@pytest.mark.parametrize("case", AS_LONG, ids=[case.name for case in AS_LONG])
def test_every_training_file_case_is_refused_alike_as_a_long_table_naming_the_series(tmp_path, case):
    argv = case.argv(tmp_path)
    name = argv[argv.index("--data") + 1].rsplit("/", 1)[1]
    write_files(tmp_path)
    one = _refusal(argv, None)
    _as_long_table(name, tmp_path)

    many = _refusal(argv, "sensor")

    assert re.search(case.pattern(tmp_path), one), one
    assert "\n" not in many and many.startswith(f"{tmp_path / name}: "), many
    # the same problem: every column and row the one-series message names, and whose rows they are
    named = set(re.findall(r"'[^']*'", one))
    if (
        "as separator" in one
    ):  # the column not found is the first read, the series column: the fix is the same
        named = {one.rsplit(" ", 1)[1]}
    assert named <= set(re.findall(r"'[^']*'", many)), many
    listed = r"(?<!file )\brows? (\d+(?:, \d+)*(?: and \d+)?)(?![\d-])"  # not a span, '(file rows 1-1200)'
    given_rows = re.findall(listed, one)
    assert given_rows == re.findall(listed, many), many
    assert "series 'south'" in many or not given_rows, many
