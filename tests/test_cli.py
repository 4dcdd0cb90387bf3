"""`bilstm train`: the --json summary and config composition (bad input: tests/test_bad_inputs.py)."""

import json
import subprocess

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from pydantic import ValidationError

from bilstm.config import PipelineConfig
from bilstm.presets import load_preset, preset_names
from flows.forecast import forecast_flow
from flows.train import train_flow
from tests.doc_blocks import GETTING_STARTED, command_lines, marked_block
from tests.helpers import BILSTM, synthetic_frame, tiny, tiny_args

TINY = tiny_args(epochs=2)
# the getting-started page's tour: `bilstm train`, `bilstm forecast --output ... --plot ...`
TOUR = {
    argv[1]: argv[1:]
    for argv in command_lines(marked_block(GETTING_STARTED, "commands: tour"))
    if argv[0] == "bilstm"
}


def test_train_json_summary_is_the_last_stdout_line_and_no_command_prints_library_warnings_or_leaves_a_lock(
    synthetic_csv, tracking, bilstm, tmp_path
):
    result = bilstm(*TOUR["train"], "--data", synthetic_csv, *TINY, "--json")  # the tour's, on tiny data
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
    run = MlflowClient(tracking, registry_uri=tracking).get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    for key in (
        "test_mse_scaled",
        "test_mae_scaled",
        "test_mse",
        "test_mae",
        "naive_test_mse_scaled",
        "seasonal_naive_test_mse_scaled",
    ):
        assert summary["metrics"][key] == pytest.approx(run.data.metrics[key])  # the run's own figures
    assert summary["epochs_run"] == 2 and summary["train_samples_per_s"] > 0

    # train (the run above) and the tour's forecast print no library warnings or download bars
    forecast = bilstm(*TOUR["forecast"], "--data", synthetic_csv)
    assert (tmp_path / "forecast.csv").exists() and (tmp_path / "forecast.png").exists()
    for command in (result, forecast):
        assert command.returncode == 0, command.stderr[-3000:]
        assert "Warning" not in command.stderr, command.stderr[-3000:]
        assert "Downloading artifacts" not in command.stderr
    # the store's creation lock lies in the .bilstm/ state folder, not beside mlflow.db among the user's files
    assert not (tmp_path / "mlflow.db.lock").exists() and (tmp_path / ".bilstm" / "mlflow.db.lock").exists()


def test_a_model_worse_than_persistence_is_flagged_loudly_and_not_promoted(synthetic_csv, bilstm):
    untrained = [
        "--set",
        "model.highway=false",
        "--set",
        "model.instance_norm=none",
        "--set",
        "train.lr=1e-7",
    ]
    result = bilstm("train", "--data", synthetic_csv, *TINY, "--epochs", "1", *untrained, "--json")

    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    metrics = summary["metrics"]
    assert metrics["test_mse_scaled"] > metrics["naive_test_mse_scaled"]
    assert not summary["promoted"] and summary["champion_version"] is None
    assert summary["promotion_reason"].startswith("test MSE") and "does not beat persistence" in result.stdout
    shortfall = f"the model does not beat persistence: test MSE {metrics['test_mse_scaled']:.4f}"
    assert f"WARNING: {shortfall}" in result.stderr
    assert any(warning.startswith(shortfall) for warning in summary["warnings"])


def test_a_training_that_keeps_its_warm_start_says_so(synthetic_csv, bilstm):
    # a learning rate this large wrecks the first epoch: the starting weights (the ridge fit) stay
    result = bilstm("train", "--data", synthetic_csv, *TINY, "--epochs", "1", "--set", "train.lr=5", "--json")

    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["best_epoch"] == 0 and "1 epochs (best: 0)" in result.stdout
    kept = "no epoch beat the linear warm start on the validation windows: the linear warm start was kept"
    assert f"{kept} (best epoch 0)" in result.stdout and summary["training_note"] == f"{kept} (best epoch 0)"
    assert summary["seasonal_period"] == 24 and summary["patch_len"] == 24


def test_several_targets_train_register_and_forecast_with_a_cycle(synthetic_csv, tracking, bilstm, tmp_path):
    multi = [arg for arg in TINY if arg != "y"] + ["--set", "data.setting=M", "--set", "scaler.cycle=24"]
    multi[multi.index("--target") + 1 : multi.index("--target") + 1] = ["x,y"]
    trained = bilstm("train", "--data", synthetic_csv, *multi, "--json")
    assert trained.returncode == 0, trained.stderr[-3000:]
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    run = MlflowClient(tracking, registry_uri=tracking).get_run(summary["run_id"])
    assert run.data.tags["data.targets"] == "x,y" and len(run.inputs.dataset_inputs) == 1

    output = tmp_path / "f.csv"
    forecast = bilstm("forecast", "--data", synthetic_csv, "--output", str(output))
    assert forecast.returncode == 0, forecast.stderr[-3000:]
    frame = pd.read_csv(output)
    bands = lambda t: [f"{t}_lo_80", f"{t}_hi_80", f"{t}_lo_95", f"{t}_hi_95"]  # noqa: E731
    assert list(frame.columns) == ["timestamp", "step", "x", *bands("x"), "y", *bands("y")]
    assert len(frame) == 12


def test_config_file_and_set_overrides_compose(tmp_path):
    from deployments.config_layers import build_config

    file = tmp_path / "config.yaml"
    file.write_text("train:\n  epochs: 5\n  lr: 0.01\nmodel:\n  cell: gru\n")
    config = build_config(file, {"train.epochs": 7}, ["model.pooling=mean", "data.targets=[a, b]"])
    assert (config.train.epochs, config.train.lr, config.model.cell) == (7, 0.01, "gru")
    assert config.model.pooling == "mean" and config.data.targets == ["a", "b"]


def test_preset_then_config_file_then_set_compose(tmp_path):
    from deployments.config_layers import build_config

    file = tmp_path / "config.yaml"
    file.write_text("train:\n  epochs: 3\n")
    config = build_config(file, {}, ["train.lr=0.01"], preset="etth1-m96")
    assert config.data.setting == "M" and config.model.channel_independent
    assert (config.train.epochs, config.train.lr) == (3, 0.01)
    assert config.registry.model_name == "bilstm-etth1-m96"


def test_train_backtest_and_sweep_take_the_same_data_and_config_options():
    import typer

    from deployments.cli import app

    commands = typer.main.get_command(app).commands
    shared = {"--data", "--target", "--features", "--time-column", "--series-column", "--skip-short"}
    shared |= {"--lookback", "--horizon", "--epochs", "--batch-size", "--preset", "--config", "--set"}
    for name in ("train", "backtest", "sweep"):
        options = {option for param in commands[name].params for option in param.opts}
        assert shared <= options, (name, shared - options)


def test_the_shared_options_set_their_config_keys_and_set_wins_over_them():
    from deployments.cli_options import JobOptions

    options = JobOptions(target="y, x", features="", lookback=48, epochs=5, set_=["train.epochs=2"])
    config = options.build()
    assert config.data.targets == ["y", "x"] and config.data.features is None
    assert (config.window.lookback, config.train.epochs) == (48, 2)


def test_no_summary_or_warning_line_runs_past_300_characters(capsys):
    from deployments.cli import _print_summary

    reason = "champion v1 forecasts another job (this run vs it: " + "; ".join(["inputs a,b,c vs d,e,f"] * 20)
    summary = {
        "model_name": "bilstm-" + "x" * 80, "model_version": "2", "champion_version": "1", "promoted": False,
        "promotion_reason": reason, "warnings": [f"This run's version will not be promoted: {reason}"],
        "metrics": {"test_mse_scaled": 0.1, "naive_test_mse_scaled": 0.2,
                    "seasonal_naive_test_mse_scaled": 0.3},
        "lookback": 48, "patch_len": 24, "seasonal_period": 24, "epochs_run": 2, "best_epoch": 2,
        "train_seconds": 1.0, "train_samples_per_s": 100.0, "training_note": None, "run_id": "r",
        "run_url": "u",
    }  # fmt: skip
    _print_summary(summary, as_json=False)
    out, err = capsys.readouterr()
    assert max(len(line) for line in (out + err).splitlines()) <= 300
    assert reason in " ".join(out.split()) and reason in " ".join(err.split())  # broken, not cut


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_is_a_valid_config_with_its_own_model_name(name):
    config = PipelineConfig.model_validate(load_preset(name))
    assert config.registry.model_name == f"bilstm-{name}"
    if name.startswith("etth1-"):
        assert config.window.horizon == int(name.removeprefix("etth1-")[1:])
        assert config.data.setting == name.removeprefix("etth1-")[0].upper()


@pytest.mark.parametrize(
    "name", ["a/b", "a:b", " ", "", ".", "..", "../x", "a\\b", "50%", "ok name", "v1.2@x"]
)
def test_a_model_name_is_refused_in_the_config_exactly_where_the_mlflow_registry_would_refuse_it(name):
    from mlflow.exceptions import MlflowException
    from mlflow.store.model_registry.file_store import _validate_model_name

    try:
        _validate_model_name(name)  # the file store's: the SQL store's, and no %
        mlflow_refuses = False
    except MlflowException:
        mlflow_refuses = True
    try:
        PipelineConfig.model_validate({"registry": {"model_name": name}})
        refused = False
    except ValidationError:
        refused = True
    assert refused == mlflow_refuses


def test_m4_hourly_preset_reads_the_long_table_and_fits_the_shortest_series():
    config = PipelineConfig.model_validate(load_preset("m4-hourly"))
    data = config.data
    assert (data.series_column, data.time_column, data.targets) == ("unique_id", "ds", ["y"])
    assert (data.setting, data.split, config.window.horizon) == ("S", "last", 48)
    # M4 Hourly's shortest series has 700 rows: lookback + horizon of train rows before 48 + 48 held out
    assert config.window.lookback + 3 * config.window.horizon <= 700


def test_a_long_error_line_is_cut_at_300_characters_and_shown_whole_with_debug(tmp_path):
    missing = tmp_path / ("d" * 200) / ("e" * 200) / "none.yaml"
    short, whole = (
        subprocess.run([BILSTM, "train", "--config", str(missing), *debug], capture_output=True, text=True)
        for debug in ([], ["--debug"])
    )
    assert short.returncode == whole.returncode == 2
    line = [line for line in short.stderr.splitlines() if line.startswith("error:")]
    assert len(line) == 1 and len(line[0]) == 300, short.stderr
    assert line[0].startswith(f"error: --config {tmp_path}/ddd") and line[0].endswith(
        "dd… (--debug shows the whole message)"
    )
    assert f"error: --config {missing}: file not found" in whole.stderr.splitlines()


@pytest.mark.parametrize(
    ("zone", "settings", "by_the_commands"),
    [("+08:00", {}, True), ("Europe/Berlin", {"data.timezone": "Europe/Berlin"}, False)],
    ids=["fixed offset, by the commands", "daylight saving with data.timezone, by the flows"],
)
def test_stamps_with_offsets_train_register_and_forecast_in_the_data_zone(
    tmp_path, tracking, bilstm, zone, settings, by_the_commands
):
    """The second case calls the training and forecast flows in this process: the commands around them are
    the first case's, and the flows read and check the stamps themselves (deployments.preflight repeats
    it)."""
    utc = pd.Series(pd.date_range("2024-03-01", periods=1200, freq="h", tz="UTC"))  # Berlin: +01:00, +02:00
    data = tmp_path / "zoned.csv"
    synthetic_frame().assign(timestamp=utc.dt.tz_convert(zone).astype(str)).to_csv(data, index=False)
    output = tmp_path / "forecast.csv"

    if by_the_commands:
        options = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
        trained = bilstm("train", "--data", str(data), *TINY, "--epochs", "3", *options, "--json")
        assert trained.returncode == 0, trained.stderr[-3000:]
        summary = json.loads(trained.stdout.strip().splitlines()[-1])
    else:
        columns = {"data.path": str(data), "data.time_column": "timestamp", "data.targets": ["y"]}
        summary = train_flow(tiny(**columns | settings))
    assert summary["model_version"] == "1" and summary["promoted"]  # registered, and served in the smoke test
    model = mlflow.models.get_model_info(f"models:/{summary['model_name']}/1")
    inputs = {column.name: column.type.name for column in model.signature.inputs.inputs}
    assert (
        inputs["timestamp"] == "string"
    )  # stamps with offsets go to MLflow as text: its schema has no zones

    if by_the_commands:
        forecast = bilstm("forecast", "--data", str(data), "--output", str(output))
        assert forecast.returncode == 0, forecast.stderr[-3000:]
    else:
        forecast_flow(data=str(data), output=str(output))
    expected = pd.date_range(utc.iloc[-1], periods=13, freq="h")[1:].tz_convert(zone).astype(str)
    assert pd.read_csv(output).timestamp.tolist() == expected.tolist()  # '2024-04-20 08:00:00+08:00', ...
