"""The logic of the data and forecasting tasks, called through `task.fn` as Prefect's testing guide does: no
flow and no Prefect server. Tasks that log to MLflow run inside a real MLflow run on a SQLite store in a tmp
dir; the run logger, which needs a flow run, is disabled."""

from __future__ import annotations

import re

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from prefect.logging import disable_run_logger

from bilstm.config import CsvConfig
from bilstm.errors import BadInputError, DataValidationError, ForecastInputError, OutputError
from tasks.data import fit_settings_to_data, ingest, make_windows, split_and_scale
from tasks.forecasting import check_outputs, forecast, read_history
from tasks.monitoring import read_actuals
from tasks.training import claim_checkpoint, clear_checkpoint, train
from tests.helpers import synthetic_frame, tiny

ROWS, LOOKBACK, HORIZON = 1200, 48, 12  # the synthetic series and `tiny`'s windows
TRAIN_END, VAL_END = 840, 960  # 70 % and 80 % of the rows: the split for a data set other than ETTh


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A SQLite MLflow store and the synthetic series as a CSV, in a folder of their own; MLflow's global
    URIs restored after."""
    folder = tmp_path_factory.mktemp("task-logic")
    synthetic_frame(ROWS).to_csv(folder / "series.csv", index=False)
    before, uri = (mlflow.get_tracking_uri(), mlflow.get_registry_uri()), f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield folder
    mlflow.set_tracking_uri(before[0])
    mlflow.set_registry_uri(before[1])


def config_for(folder, **overrides):
    data = {"data.path": str(folder / "series.csv"), "data.time_column": "timestamp", "data.targets": ["y"]}
    return tiny(**data, **overrides)


@pytest.fixture(scope="module")
def experiment_id(store) -> str:
    """An experiment of this store: the process-wide active one may be another test's."""
    return MlflowClient().create_experiment("task-logic")


@pytest.fixture
def run(experiment_id):
    """An active MLflow run, as the flow opens one; returns its id."""
    with mlflow.start_run(experiment_id=experiment_id) as active, disable_run_logger():
        yield active.info.run_id


def logged_params(run_id: str) -> dict[str, str]:
    return MlflowClient().get_run(run_id).data.params


def test_ingest_logs_the_data_set_with_its_digest_as_the_training_input(store, run):
    series = ingest.fn(config_for(store).data)

    assert series.input_columns == ["x", "y"] and series.target_columns == ["y"] and len(series.frame) == ROWS
    logged = MlflowClient().get_run(run)
    [dataset_input] = logged.inputs.dataset_inputs
    assert dataset_input.dataset.digest == series.digest()
    assert [tag.value for tag in dataset_input.tags if tag.key == "mlflow.data.context"] == ["training"]
    tags = logged.data.tags
    assert (tags["data.digest"], tags["data.freq"], tags["data.rows"], tags["data.targets"]) == (
        series.digest(),
        "h",
        str(ROWS),
        "y",
    )


def test_fit_settings_derives_lookback_and_segment_from_a_day_of_hourly_steps(store, run):
    config = config_for(store, **{"window.lookback": None})
    series = ingest.fn(config.data)

    resolved = fit_settings_to_data.fn(config, series)

    # 14 days of hours (336) exceed a quarter of the 840 train rows (210): whole days below that, 8 of them
    assert resolved.period == 24
    assert resolved.derived == {"window.lookback": 192, "model.patch_len": 24}
    assert resolved.config.window.lookback == 192 and resolved.config.model.patch_len == 24
    assert resolved.warnings == []
    params = logged_params(run)
    assert (params["window.lookback"], params["model.patch_len"], params["data.seasonal_period"]) == (
        "192",
        "24",
        "24",
    )


def test_fit_settings_warns_of_a_lookback_that_leaves_few_training_windows(store, run):
    config = config_for(store, **{"window.lookback": 300})
    resolved = fit_settings_to_data.fn(config, ingest.fn(config.data))

    assert resolved.derived == {"model.patch_len": 24} and resolved.config.window.lookback == 300
    assert resolved.warnings == [
        "window.lookback=300 takes 36% of the 840 train rows (more than 25%): few training windows; the"
        " seasonal period of h data is 24 steps, and leaving the lookback unset picks 192"
    ]


def test_split_and_scale_standardises_every_row_with_the_train_rows_statistics(store, run):
    config = config_for(store)
    series = ingest.fn(config.data)

    prepared = split_and_scale.fn(series, config)

    split = prepared.split
    assert split.borders() == (TRAIN_END, VAL_END, ROWS)
    values = series.values
    train = values[:TRAIN_END]
    expected = (values - train.mean(axis=0)) / train.std(axis=0)  # ddof=0, as scikit-learn's scaler
    np.testing.assert_allclose(prepared.scaled, expected, rtol=1e-5, atol=1e-5)
    params = logged_params(run)
    assert (params["split.train_end"], params["split.val_end"], params["split.test_end"]) == (
        str(TRAIN_END),
        str(VAL_END),
        str(ROWS),
    )


def test_make_windows_cuts_every_train_and_validation_window_from_the_scaled_rows(store, run):
    config = config_for(store)
    prepared = split_and_scale.fn(ingest.fn(config.data), config)

    train_windows, val_windows = make_windows.fn(prepared, config)

    # stride 1: rows - lookback - horizon + 1 windows; the validation rows start `lookback` rows early
    assert len(train_windows) == TRAIN_END - LOOKBACK - HORIZON + 1 == 781
    assert len(val_windows) == (VAL_END - (TRAIN_END - LOOKBACK)) - LOOKBACK - HORIZON + 1 == 109
    inputs, targets = train_windows.batch(slice(5, 6))
    np.testing.assert_array_equal(inputs[0].numpy(), prepared.scaled[5 : 5 + LOOKBACK])
    np.testing.assert_array_equal(
        targets[0].numpy(), prepared.scaled[5 + LOOKBACK : 5 + LOOKBACK + HORIZON, 1]
    )
    inputs, _ = val_windows.batch(slice(0, 1))
    np.testing.assert_array_equal(inputs[0].numpy(), prepared.scaled[TRAIN_END - LOOKBACK : TRAIN_END])
    params = logged_params(run)
    assert (params["windows.train"], params["windows.val"]) == ("781", "109")


@pytest.mark.parametrize(
    ("output", "plot", "message"),
    [
        ("no/f.csv", None, r"no/f\.csv: folder .*/no does not exist; create it or choose another output$"),
        ("f.xlsx", None, r"f\.xlsx: unsupported output format; use a \.csv or \.parquet file name$"),
        ("f.csv", "no/p.png", r"no/p\.png: folder .*/no does not exist; create it or choose another plot$"),
        ("f.csv", "p.jpg", r"p\.jpg: unsupported plot format; use a \.png, \.svg or \.pdf file name$"),
    ],
    ids=["output folder missing", "output format", "plot folder missing", "plot format"],
)
def test_check_outputs_refuses_a_bad_path_as_bad_input_and_writes_nothing(tmp_path, output, plot, message):
    with pytest.raises(OutputError, match=message) as error:
        check_outputs.fn(str(tmp_path / output), None if plot is None else str(tmp_path / plot))
    assert isinstance(error.value, BadInputError) and error.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_check_outputs_accepts_writable_paths_and_writes_nothing(tmp_path):
    assert check_outputs.fn(str(tmp_path / "f.parquet"), str(tmp_path / "p.svg")) is None
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def forecaster(store, experiment_id):
    """A forecaster trained for 2 epochs by the data and training tasks, as the flow chains them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BILSTM_HOME", str(store / "bilstm-home"))  # the checkpoint, in the tmp folder
        with mlflow.start_run(experiment_id=experiment_id), disable_run_logger():
            config = config_for(store, **{"train.epochs": 2})
            series = ingest.fn(config.data)
            config = fit_settings_to_data.fn(config, series).config
            prepared = split_and_scale.fn(series, config)
            checkpoint = claim_checkpoint.fn(config, series.digest())
            trained, _ = train.fn(prepared, make_windows.fn(prepared, config), config, checkpoint)
            clear_checkpoint.fn(checkpoint)
    return trained


def history_file(folder, frame: pd.DataFrame, name: str) -> str:
    frame.to_csv(folder / name, index=False)
    return str(folder / name)


def test_forecast_continues_the_hourly_stamps_from_the_last_lookback_rows_alone(store, forecaster):
    frame = synthetic_frame(ROWS)
    history = read_history.fn(forecaster, history_file(store, frame, "history.csv"))
    last_rows = read_history.fn(forecaster, history_file(store, frame.tail(LOOKBACK), "last.csv"))

    table = forecast.fn(forecaster, history)

    future = pd.date_range(frame.timestamp.iloc[-1], periods=HORIZON + 1, freq="h")[1:]
    assert list(table.columns)[:3] == ["timestamp", "step", "y"]  # then the bands, if it has intervals
    assert (pd.DatetimeIndex(table.timestamp) == future).all()
    assert table.step.tolist() == list(range(1, HORIZON + 1))
    # the same rows in, the same forecast out (no random initial state), and older rows play no part
    pd.testing.assert_frame_equal(forecast.fn(forecaster, history), table)
    pd.testing.assert_frame_equal(forecast.fn(forecaster, last_rows), table)


def test_forecast_and_monitor_read_a_european_csv_as_sniffed_or_as_told(store, forecaster):
    frame = synthetic_frame(ROWS)
    commas = read_history.fn(forecaster, history_file(store, frame, "history.csv"))
    path = store / "semicolons.csv"
    frame.to_csv(path, index=False, sep=";", decimal=",")
    told = CsvConfig(sep=";", decimal=",")
    for series in (read_history.fn(forecaster, str(path)), read_actuals.fn(forecaster, str(path), told)):
        np.testing.assert_array_equal(series.values, commas.values)
    with pytest.raises(DataValidationError, match=r"the file seems to use ';' as separator: pass --sep ';'$"):
        read_history.fn(forecaster, str(path), CsvConfig(sep=","))


def test_read_history_refuses_fewer_rows_than_the_lookback(store, forecaster):
    path = history_file(store, synthetic_frame(ROWS).head(20), "short.csv")
    with pytest.raises(ForecastInputError) as error:
        read_history.fn(forecaster, path)
    assert str(error.value) == (
        f"{path}: the history has 20 rows; the model needs the last {LOOKBACK}: pass a longer history"
    )


def test_a_deployments_forecast_or_monitor_refuses_daily_data_for_an_hourly_model(store, forecaster):
    daily = synthetic_frame(ROWS).assign(timestamp=pd.date_range("2021-01-01", periods=ROWS, freq="D"))
    path = history_file(store, daily, "daily.csv")
    message = rf"^{re.escape(path)}: the data steps by days \(D\), the model by hours \(h\)"
    for read in (read_history, read_actuals):
        with pytest.raises(DataValidationError, match=message):
            read.fn(forecaster, path)


def test_a_deployments_forecast_or_monitor_refuses_stamps_with_offsets_for_a_model_of_stamps_without(
    store, forecaster
):
    frame = synthetic_frame(ROWS)
    zoned = frame.assign(timestamp=frame.timestamp.dt.tz_localize("+08:00").astype(str))
    path = history_file(store, zoned, "zoned.csv")
    message = rf"^{re.escape(path)}: the stamps in 'timestamp' carry UTC offsets .* without a zone"
    for read in (read_history, read_actuals):
        with pytest.raises(DataValidationError, match=message):
            read.fn(forecaster, path)


def test_what_reading_a_history_or_actuals_notices_is_kept_for_the_forecast_and_monitor_summary(
    store, forecaster
):
    frame = synthetic_frame(ROWS).drop(index=[1100, 1101])  # two missing hours
    history = read_history.fn(forecaster, history_file(store, frame, "gaps.csv"))
    assert read_actuals.fn(forecaster, str(store / "gaps.csv")).notes == history.notes
    assert history.notes == [
        f"{store / 'gaps.csv'}: timestamps are not evenly spaced: 1 gap(s) with 2 missing step(s) of h in all"
        " (at most 2 in a row); windows read the rows on either side of a gap as neighbours"
    ]
