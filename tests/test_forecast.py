"""The batch-forecast flow and `bilstm forecast`: the champion forecasts the steps after the history."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from bilstm.errors import OutputError
from flows.forecast import FORECAST_EXPERIMENT, forecast_flow
from flows.train import train_flow
from tasks.forecast_files import check_figure_path, check_table_path, write_table
from tests.helpers import synthetic_frame


@pytest.fixture
def champion(tiny_config, tracking):
    return train_flow(tiny_config)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_forecast_continues_the_series_with_the_champion(champion, synthetic_csv, tracking, tmp_path, suffix):
    output = tmp_path / f"forecast{suffix}"
    summary = forecast_flow(data=synthetic_csv, output=str(output))

    table = pd.read_csv(output, parse_dates=["timestamp"]) if suffix == ".csv" else pd.read_parquet(output)
    history = synthetic_frame()
    expected = pd.date_range(history.timestamp.iloc[-1], periods=13, freq="h")[1:]
    assert list(table.columns) == ["timestamp", "step", "y", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"]
    nested = table[["y_lo_95", "y_lo_80", "y", "y_hi_80", "y_hi_95"]].to_numpy()
    assert (np.diff(nested, axis=1) >= 0).all()
    assert len(table) == 12 == summary["rows"]
    assert (pd.to_datetime(table.timestamp) == expected).all()
    champion_model = mlflow.pyfunc.load_model("models:/bilstm-forecaster@champion")
    served = champion_model.predict(pd.read_csv(synthetic_csv, parse_dates=["timestamp"]))
    assert champion_model.metadata.get_output_schema().input_names() == list(table.columns)  # the signature
    bands = ["y", "y_lo_95", "y_hi_95"]
    np.testing.assert_allclose(table[bands].to_numpy(), served[bands].to_numpy(), rtol=1e-6)  # what it serves

    client = MlflowClient(tracking, registry_uri=tracking)
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == FORECAST_EXPERIMENT
    assert output.name in {a.path for a in client.list_artifacts(run.info.run_id)}


def test_unknown_alias_fails_and_writes_nothing(champion, synthetic_csv, tracking, tmp_path):
    output = tmp_path / "forecast.csv"
    state = forecast_flow(
        model_uri="models:/bilstm-forecaster@nonexistent",
        data=synthetic_csv,
        output=str(output),
        return_state=True,
    )
    assert state.is_failed()
    assert not output.exists()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_forecast_file_gets_the_mode_of_a_plain_file_under_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = write_table(synthetic_frame(rows=5), tmp_path / "forecast.csv")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode
    assert [p.name for p in tmp_path.iterdir()] == ["forecast.csv"]


def test_an_output_or_plot_path_that_is_a_folder_is_refused_naming_a_file_in_it(tmp_path):
    folder = tmp_path / "out.csv"
    folder.mkdir()
    with pytest.raises(
        OutputError, match=re.escape(f"{folder}: is a folder; name a file in it, e.g. {folder}/output.csv")
    ):
        check_table_path(folder)
    with pytest.raises(
        OutputError, match=re.escape(f"{tmp_path}: is a folder; name a file in it, e.g. {tmp_path}/plot.png")
    ):
        check_figure_path(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder its permissions close")
def test_an_output_in_a_folder_without_write_permission_is_refused(tmp_path):
    tmp_path.chmod(0o555)
    with pytest.raises(
        OutputError, match=re.escape(f"folder {tmp_path} is not writable; choose another output")
    ):
        check_table_path(tmp_path / "forecast.csv")


CANNOT_MOUNT = 77  # the exit status of the test's shell where the mount is not allowed
READ_ONLY_CHECK = """
import sys
from bilstm.errors import OutputError
from tasks.forecast_files import check_table_path
try:
    check_table_path(sys.argv[1])
except OutputError as error:
    print(error)
"""


def test_an_output_on_a_read_only_file_system_is_refused_even_for_root(tmp_path):
    """A read-only tmpfs mounted in a mount namespace of its own (root, or where user namespaces are
    allowed): `os.access` says root may write there, the mount's flags say it may not."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    script = f'mount -t tmpfs -o ro,size=64k tmpfs {folder} || exit {CANNOT_MOUNT}; exec "$0" -c "$1" "$2"'
    argv = ["unshare", "-rm", "sh", "-c", script, sys.executable, READ_ONLY_CHECK, str(folder / "f.csv")]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.skip("no unshare command to mount a read-only file system with")
    if done.returncode == CANNOT_MOUNT or done.stderr.startswith("unshare:"):
        pytest.skip(f"cannot mount a read-only file system here: {done.stderr.strip()[-200:]}")
    assert done.stdout.strip() == f"{folder}/f.csv: folder {folder} is not writable; choose another output"


def test_forecast_cli_writes_the_forecast_and_its_plot_logs_the_plot_and_prints_json(
    champion, synthetic_csv, tracking, tmp_path, bilstm
):
    output, plot = tmp_path / "out.parquet", tmp_path / "forecast.png"
    result = bilstm(
        "forecast", "--data", synthetic_csv, "--output", str(output), "--plot", str(plot), "--json"
    )

    assert result.returncode == 0, result.stderr
    assert len(pd.read_parquet(output)) == 12
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    *lines, last = result.stdout.strip().splitlines()
    summary = json.loads(last)
    assert summary["rows"] == 12 and summary["plot"] == str(plot)
    assert f"plot written to {plot}" in lines
    client = MlflowClient(tracking, registry_uri=tracking)
    assert "plots/forecast.png" in {a.path for a in client.list_artifacts(summary["run_id"], "plots")}


def test_a_champion_whose_artifacts_are_gone_fails_clearly_and_writes_nothing(
    champion, synthetic_csv, tracking, tmp_path, bilstm
):
    client = MlflowClient(tracking, registry_uri=tracking)
    version = client.get_model_version_by_alias("bilstm-forecaster", "champion").version
    location = client.get_model_version_download_uri("bilstm-forecaster", version)
    shutil.rmtree(location.removeprefix("file://"))  # the file-based artifact store lost the model
    output = tmp_path / "forecast.csv"

    result = bilstm("forecast", "--data", synthetic_csv, "--output", str(output))

    assert result.returncode == 2, result.stderr[-3000:]
    expected = f"error: models:/bilstm-forecaster@champion: the artifacts of version {version} are missing"
    assert expected in result.stderr
    assert not output.exists() and not list(tmp_path.glob("*.partial"))


def test_a_champion_whose_weights_file_is_gone_exits_2_naming_the_model_uri(
    champion, synthetic_csv, tracking, tmp_path, bilstm
):
    client = MlflowClient(tracking, registry_uri=tracking)
    version = client.get_model_version_by_alias("bilstm-forecaster", "champion").version
    location = client.get_model_version_download_uri("bilstm-forecaster", version).removeprefix("file://")
    (weights,) = Path(location).rglob("weights.pt")
    weights.unlink()
    output = tmp_path / "forecast.csv"

    result = bilstm("forecast", "--data", synthetic_csv, "--output", str(output))

    assert result.returncode == 2, result.stderr[-3000:]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert (
        line.startswith("error: models:/bilstm-forecaster@champion: ") and "weights.pt: the bundle's" in line
    )
    assert not output.exists()
