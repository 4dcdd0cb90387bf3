"""`bilstm train`: bad input exits 2 with a one-line message and registers nothing; --json summary."""

import json
import re
import subprocess

import numpy as np
import pytest
from mlflow import MlflowClient

from bilstm.config import PipelineConfig
from bilstm.presets import load_preset, preset_names
from tests.conftest import BILSTM, synthetic_frame

TINY = [
    "--time-column",
    "timestamp",
    "--target",
    "y",
    "--lookback",
    "48",
    "--horizon",
    "12",
    "--epochs",
    "2",
    "--set",
    "model.hidden_size=16",
    "--set",
    "model.num_layers=1",
    "--set",
    "train.lr=0.005",
]


def bad_file(tmp_path, case: str) -> str:
    frame = synthetic_frame()
    if case == "missing_target":
        frame = frame.drop(columns="y")
    elif case == "nan_target":
        frame.loc[[200, 201], "y"] = np.nan
    elif case == "too_few_rows":
        frame = frame.iloc[:60]
    path = tmp_path / f"{case}.csv"
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_file", r"missing_file\.csv: file not found"),
        ("missing_target", r"column 'y' not found; available: timestamp, x"),
        ("nan_target", r"column 'y' has missing values in rows 201, 202; fill them or set data.missing"),
        ("too_few_rows", r"too few rows \(60\) for lookback 48 \+ horizon 12"),
    ],
)
def test_bad_input_exits_2_with_a_clear_line_and_registers_nothing(tmp_path, tracking, bilstm, case, message):
    path = str(tmp_path / "missing_file.csv") if case == "missing_file" else bad_file(tmp_path, case)
    result = bilstm("train", "--data", path, *TINY)
    assert result.returncode == 2, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert re.search(message, error_lines[0])
    assert "Traceback" not in result.stderr
    client = MlflowClient(tracking, registry_uri=tracking)
    assert client.search_registered_models() == []
    experiment = client.get_experiment_by_name("bilstm-forecaster")
    assert all(r.info.status == "FAILED" for r in client.search_runs([experiment.experiment_id]))


def test_train_json_summary_is_the_last_stdout_line(synthetic_csv, tracking, bilstm):
    result = bilstm("train", "--data", synthetic_csv, *TINY, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    required = {
        "run_id",
        "flow_run_id",
        "model_name",
        "model_version",
        "promoted",
        "champion_version",
        "epochs_run",
        "train_seconds",
        "train_samples_per_s",
        "metrics",
    }
    assert required <= set(summary)
    for key in (
        "test_mse_scaled",
        "test_mae_scaled",
        "test_mse",
        "test_mae",
        "naive_test_mse_scaled",
        "seasonal_naive_test_mse_scaled",
    ):
        assert np.isfinite(summary["metrics"][key])
    assert summary["epochs_run"] == 2 and summary["train_samples_per_s"] > 0
    assert MlflowClient(tracking, registry_uri=tracking).get_run(summary["run_id"]).info.status == "FINISHED"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "train.epochs=0"],
            "invalid config: train.epochs: Input should be greater than or equal to 1",
        ),
        (["--set", "model.size=3"], "unknown config key 'model.size'"),
        (["--lookback", "-4"], "window.lookback: Input should be greater than or equal to 1"),
        (["--config", "nowhere.yaml"], "--config nowhere.yaml: file not found"),
        (["--preset", "etth1-s5"], "--preset: unknown preset 'etth1-s5'; available: etth1-m96, etth1-s24"),
        (["--set", "model.patch_len=0"], "model.patch_len: Input should be greater than or equal to 1"),
        (["--set", "model.channel_independent=true"], "model.channel_independent needs data.setting S or M"),
    ],
)
def test_invalid_config_exits_2_before_anything_runs(args, message, tmp_path):
    result = subprocess.run(
        [BILSTM, "train", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_config_file_and_set_overrides_compose(tmp_path):
    from bilstm.cli import build_config

    file = tmp_path / "config.yaml"
    file.write_text("train:\n  epochs: 5\n  lr: 0.01\nmodel:\n  cell: gru\n")
    config = build_config(file, {"train.epochs": 7}, ["model.pooling=mean", "data.targets=[a, b]"])
    assert (config.train.epochs, config.train.lr, config.model.cell) == (7, 0.01, "gru")
    assert config.model.pooling == "mean" and config.data.targets == ["a", "b"]


def test_preset_then_config_file_then_set_compose(tmp_path):
    from bilstm.cli import build_config

    file = tmp_path / "config.yaml"
    file.write_text("train:\n  epochs: 3\n")
    config = build_config(file, {}, ["train.lr=0.01"], preset="etth1-m96")
    assert config.data.setting == "M" and config.model.channel_independent
    assert (config.train.epochs, config.train.lr) == (3, 0.01)
    assert config.registry.model_name == "bilstm-etth1-m96"


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_is_a_valid_config_with_its_own_model_name(name):
    config = PipelineConfig.model_validate(load_preset(name))
    assert config.registry.model_name == f"bilstm-{name}"
    assert config.window.horizon == int(name.removeprefix("etth1-")[1:])
    assert config.data.setting == name.removeprefix("etth1-")[0].upper()
