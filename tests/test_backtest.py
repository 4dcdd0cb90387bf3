"""Backtest folds without orchestration: where the folds lie, which model scores which fold, the refusals,
and that nothing of a fold's test rows reaches its scaler, its model or its early stopping."""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
import time

import numpy as np
import pytest
import torch

from bilstm import backtest
from bilstm.config import with_overrides
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.errors import DataValidationError
from bilstm.folds import BacktestError, BacktestOptions, check_backtest_input, plan_folds, trained_by
from bilstm.split import split_table
from deployments.preflight import check_training_input
from tasks.dask_scheduler import check_scheduler, lost_scheduler
from tests.helpers import BILSTM, long_table, synthetic_frame, tiny, tiny_args, write_table


@pytest.fixture
def series_and_config(tiny_config):
    series = load_table(tiny_config.data)
    return series, resolve(tiny_config, series).config


def test_folds_end_at_the_last_row_with_the_single_splits_block_sizes_newest_last(series_and_config):
    series, config = series_and_config
    _, single = split_table(series, config)
    _, folds = plan_folds(series, config, BacktestOptions(folds=3, step=100))

    assert [f.index for f in folds] == [0, 1, 2]
    assert folds[-1].split.borders()[2] == len(series.frame)
    for fold in folds:
        split = fold.split
        assert np.diff(split.borders()).tolist() == np.diff(single.borders()).tolist()
        assert split.lookback == config.window.lookback
    assert [f.split.borders()[2] for f in folds] == [1000, 1100, 1200]


def many_series(tmp_path, lengths: dict[str, int], **overrides) -> tuple:
    """A long table of `lengths` (lookback 48, horizon 12: split `last` holds out 12 + 12 rows per series),
    read, and the tiny config resolved against it."""
    data = write_table(tmp_path, long_table(lengths))
    config = tiny(**{"data.path": data, "data.time_column": "timestamp", "data.targets": ["y"]})
    config = tiny(config, **{"data.series_column": "id", **overrides})
    series = load_table(config.data)
    return series, resolve(config, series).config


def test_many_series_folds_hold_out_the_kth_horizon_block_from_the_end_of_every_series(tmp_path):
    series, config = many_series(tmp_path, {"a": 150, "b": 130, "c": 200})

    kept, folds = plan_folds(series, config, BacktestOptions(folds=3))

    assert kept.ids.tolist() == ["a", "b", "c"]
    ends = series.offsets[1:]
    for k, fold in enumerate(folds):
        split = fold.split
        assert (split.first == series.offsets[:-1]).all()
        assert (split.test_end == ends - (2 - k) * 12).all()
        assert (split.test_end - split.val_end == 12).all() and (split.val_end - split.train_end == 12).all()


def test_folds_that_do_not_fit_the_shortest_series_name_it_or_leave_it_out_with_skip_short(tmp_path):
    # 3 folds of 12-row blocks, 12 rows apart, need 48 + 12 + 12 + 12 + 2 * 12 = 108 rows; b's 100 hold two
    series, config = many_series(tmp_path, {"a": 150, "b": 100, "c": 200})
    refusal = r"3 folds do not fit series 'b' \(file rows 151-250\): its 100 rows hold at most 2;"
    fix = r" use --folds 2, or a shorter --step, or pass --skip-short to leave such series out \(blocks of 12"
    with pytest.raises(BacktestError, match=refusal + fix):
        plan_folds(series, config, BacktestOptions(folds=3))

    skipping = with_overrides(config, {"data.skip_short": True})
    with pytest.warns(UserWarning, match=r"left out 1 series too short for 3 folds: 'b'$"):
        kept, folds = plan_folds(series, skipping, BacktestOptions(folds=3))
    assert kept.ids.tolist() == ["a", "c"]
    assert (folds[-1].split.test_end == kept.offsets[1:]).all()


def test_a_fold_of_many_series_is_scored_on_the_means_over_series_with_smape_mase_and_owa(tmp_path):
    series, config = many_series(tmp_path, {"a": 150, "b": 130, "c": 200}, **{"train.epochs": 1})
    _, [fold] = plan_folds(series, config, BacktestOptions(folds=1))

    outcome = backtest.run_fold(series, config, fold)
    row = backtest.fold_row(outcome, series)

    by_series = outcome.evaluation.by_series
    assert by_series["id"].tolist() == ["a", "b", "c"]
    assert row["test_mse_scaled"] == pytest.approx(by_series["mse_scaled"].mean())
    assert row["test_smape"] == pytest.approx(by_series["smape"].mean())
    assert {"test_mase", "test_owa", "seasonal_naive_test_owa"} <= row.keys()
    assert row["train_rows"] == 150 + 130 + 200 - 3 * 24
    assert row["test_end"] == str(series.frame.index.max())  # the longest series' last stamp


def test_default_step_is_the_test_size_so_test_blocks_do_not_overlap(series_and_config):
    series, config = series_and_config
    _, folds = plan_folds(series, config, BacktestOptions(folds=2))
    older, newer = (f.split for f in folds)
    assert older.test_end == newer.val_end


@pytest.mark.parametrize(
    "refit, expected",
    [("every", [0, 1, 2, 3, 4]), ("once", [0, 0, 0, 0, 0]), ("2", [0, 0, 2, 2, 4]), ("3", [0, 0, 0, 3, 3])],
)
def test_refit_maps_each_fold_to_the_fold_whose_model_it_uses(refit, expected):
    assert trained_by(refit, 5) == expected


@pytest.mark.parametrize(
    "finished, expected",
    [({0, 1, 2}, [0, 1, 2]), ({0, 2}, [2]), ({1}, [1]), ({0, 1}, [0, 1]), (set(), [])],
)
def test_a_rerun_takes_over_a_finished_fold_that_trained_only_with_every_fold_using_its_model(
    series_and_config, finished, expected
):
    series, config = series_and_config
    _, folds = plan_folds(series, config, BacktestOptions(folds=3, step=100, refit="2"))
    assert [fold.trained_by for fold in folds] == [0, 0, 2]
    assert [fold.index for fold in backtest.reusable(folds, finished)] == expected


def test_more_folds_than_the_data_holds_are_refused_saying_how_many_fit(series_and_config):
    series, config = series_and_config
    # 1200 rows, test 240, validation 120, first train >= 48 + 12: (1200 - 240 - 120 - 60) // 240 + 1 = 4
    plan_folds(series, config, BacktestOptions(folds=4))
    with pytest.raises(
        BacktestError, match=r"5 folds do not fit: its 1200 rows hold at most 4; use --folds 4"
    ):
        plan_folds(series, config, BacktestOptions(folds=5))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"folds": 0}, r"--folds 0: .*greater than or equal to 1"),
        ({"refit": "sometimes"}, r"--refit 'sometimes': must be 'every', 'once' or a whole number K >= 1"),
        ({"refit": "0"}, r"--refit '0'"),
        ({"step": 0}, r"--step 0"),
        ({"workers": 0}, r"--workers 0"),
    ],
)
def test_bad_backtest_options_are_bad_input_naming_the_option(options, message):
    with pytest.raises(BacktestError, match=message):
        BacktestOptions.checked(**options)


def test_a_cycle_the_first_folds_train_rows_cannot_fill_is_refused_before_the_flow(tiny_config):
    # 700 hourly phases: the single split's 840 train rows hold them, fold 0's 640 do not
    config = with_overrides(tiny_config, {"scaler.cycle": 700})
    series, resolved = check_training_input(config)
    check_backtest_input(series, resolved, BacktestOptions(folds=1))
    with pytest.raises(DataValidationError, match=r"series\.csv: "):
        check_backtest_input(series, resolved, BacktestOptions(folds=3, step=100))


def test_an_address_where_nothing_listens_is_refused_at_once():
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(BacktestError, match=rf"--dask-address tcp://127.0.0.1:{port}: no Dask scheduler"):
        check_scheduler(f"tcp://127.0.0.1:{port}")
    with pytest.raises(BacktestError, match="expected tcp://HOST:PORT"):
        check_scheduler("ucx://somewhere:1")


@pytest.fixture
def web_server():
    """An HTTP server on a free loopback port, answering Dask's handshake with `400 Bad Request`."""

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # the test's output stays the command's
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_address_where_a_web_server_listens_is_refused_once_the_handshake_is_overdue(web_server):
    started = time.monotonic()
    with pytest.raises(BacktestError, match=rf"--dask-address {web_server}: no Dask scheduler answered"):
        check_scheduler(web_server, timeout=1)
    assert time.monotonic() - started < 5


def test_backtest_on_a_web_server_address_exits_2_in_one_line_before_any_run(web_server, tmp_path):
    data = write_table(tmp_path, synthetic_frame())
    command = [BILSTM, "backtest", "--data", data, *tiny_args(2), "--dask-address", web_server]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=30)

    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--dask-address {web_server}: no Dask scheduler answered" in lines[0]
    assert not (tmp_path / "mlflow.db").exists()  # no MLflow run was started


def test_changing_a_folds_test_rows_changes_neither_its_scaler_nor_its_model(series_and_config):
    series, config = series_and_config
    _, [fold, _] = plan_folds(series, config, BacktestOptions(folds=2, step=100))
    before, before_log = backtest.train_fold(series, config, fold)

    test_rows = slice(*fold.split.borders()[1:])
    series.frame.iloc[test_rows, -1] += 1000.0  # the target of every test row of this fold
    after, after_log = backtest.train_fold(series, config, fold)

    assert after.scaler.to_json() == before.scaler.to_json()
    for name, weights in before.model.state_dict().items():
        torch.testing.assert_close(after.model.state_dict()[name], weights)
    assert after_log.val_loss == before_log.val_loss  # early stopping saw the same validation losses
    assert after.intervals.to_json() == before.intervals.to_json()
    # the test rows did change: the fold's score sees them
    scored_before = backtest.score_fold(before, load_table(config.data), config, fold)
    scored_after = backtest.score_fold(after, series, config, fold)
    assert scored_after.metrics["test_mse_scaled"] > 100 * scored_before.metrics["test_mse_scaled"]


def test_a_fold_that_does_not_retrain_is_scored_with_the_given_model_on_its_own_windows(series_and_config):
    series, config = series_and_config
    _, (first, second) = plan_folds(series, config, BacktestOptions(folds=2, step=100, refit="once"))
    trained = backtest.run_fold(series, config, first)
    rolled = backtest.run_fold(series, config, second, trained.forecaster)

    assert rolled.forecaster is None and rolled.training_log is None
    expected = backtest.score_fold(trained.forecaster, series, config, second)
    assert rolled.evaluation.metrics == expected.metrics
    assert rolled.evaluation.first_rows[0] == second.split.borders()[1]
    with pytest.raises(ValueError, match="reuses fold 0's model"):
        backtest.run_fold(series, config, second)


def test_the_summary_is_the_mean_over_folds_and_the_spread_of_the_models_mse():
    rows = [
        {"test_mse_scaled": 1.0, "naive_test_mse_scaled": 2.0, "coverage_95": 0.9},
        {"test_mse_scaled": 3.0, "naive_test_mse_scaled": 4.0, "coverage_95": 1.0},
    ]
    summary = backtest.summarise(rows)
    assert summary["mean_test_mse_scaled"] == 2.0
    assert summary["mean_naive_test_mse_scaled"] == 3.0
    assert summary["mean_coverage_95"] == pytest.approx(0.95)
    assert summary["std_test_mse_scaled"] == pytest.approx(np.std([1.0, 3.0], ddof=1))
    assert backtest.summarise(rows[:1])["std_test_mse_scaled"] == 0.0


def test_the_gates_refusal_names_registry_gate_folds_and_no_command_line_option(series_and_config):
    series, config = series_and_config
    with pytest.raises(BacktestError) as refusal:
        plan_folds(series, config, BacktestOptions(folds=9), "registry.gate_folds")
    assert "hold at most 4; use registry.gate_folds 4, or give it more rows (" in str(refusal.value)


def test_the_fold_table_shows_test_spans_in_the_datas_own_offset(tmp_path, tiny_config):
    frame = synthetic_frame()
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S+05:30")
    config = tiny(tiny_config, **{"data.path": write_table(tmp_path, frame), "train.epochs": 1})
    series = load_table(config.data)
    config = resolve(config, series).config
    _, [fold] = plan_folds(series, config, BacktestOptions(folds=1))

    row = backtest.fold_row(backtest.run_fold(series, config, fold), series)

    assert row["test_start"] == frame["timestamp"][fold.split.borders()[1]].replace("T", " ")
    assert row["test_end"].endswith("+05:30")


def test_only_a_lost_scheduler_connection_reads_as_the_scheduler_gone():
    from distributed.client import FutureCancelledError

    address = "tcp://10.0.0.5:8786"
    lost = FutureCancelledError("run_fold-1", "scheduler-connection-lost", "Client lost the connection")

    assert str(lost_scheduler(address, lost)).startswith(f"the Dask scheduler at {address} went away during")
    assert lost_scheduler(address, lost).exit_code == 3
    assert lost_scheduler(address, FutureCancelledError("run_fold-1", "lost-dependencies")) is None
    assert lost_scheduler(address, RuntimeError("NaN loss")) is None
