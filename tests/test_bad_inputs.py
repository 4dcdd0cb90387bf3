"""The bad-input catalogue: every case runs the installed `bilstm` command against one store that holds a
champion, exits 2 with one line naming the file / column / row / parameter, leaves the registry (versions
and aliases) as it was, and leaves the Prefect flow run and the MLflow run it opened, if any, FAILED. Bad
input to `bilstm train` is rejected before any flow run or MLflow run starts (`deployments.preflight`)."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.bad_input_cases import CASES
from tests.bad_input_files import (
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
