"""Windows: shapes, alignment with the series, zero-copy views, no leakage across splits, and in a long
table none that crosses a series, drawn per series where asked."""

import numpy as np
import pytest
import torch

from bilstm import pipeline
from bilstm.data import load_table
from bilstm.windows import make_windows, numpy_windows
from tests.helpers import SERIES_LENGTHS, long_frame, tiny, write_shaped


def test_windows_have_expected_count_and_shapes():
    values = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
    windows = make_windows(values, lookback=5, horizon=2, n_targets=1)
    assert len(windows) == 20 - 5 - 2 + 1
    x, y = windows.batch(slice(None))
    assert x.shape == (14, 5, 3) and y.shape == (14, 2)
    x, y = make_windows(values, 5, 2, n_targets=2).batch(torch.tensor([0, 3]))
    assert x.shape == (2, 5, 3) and y.shape == (2, 2, 2)


def test_window_inputs_and_targets_align_with_the_series():
    values = np.arange(30 * 2, dtype=np.float32).reshape(30, 2)
    windows = make_windows(values, lookback=4, horizon=3, n_targets=1)
    x, y = windows.batch(torch.tensor([7]))
    np.testing.assert_array_equal(x[0].numpy(), values[7:11])
    np.testing.assert_array_equal(y[0].numpy(), values[11:14, 1])


def test_windows_are_views_not_copies():
    windows = make_windows(np.zeros((1000, 4), dtype=np.float32), lookback=96, horizon=24, n_targets=1)
    assert windows.inputs.untyped_storage().data_ptr() == windows.series.untyped_storage().data_ptr()
    assert windows.targets.untyped_storage().data_ptr() == windows.series.untyped_storage().data_ptr()
    inputs, targets = numpy_windows(np.zeros((1000, 4)), 96, 24)
    assert inputs.shape == (881, 96, 4) and targets.shape == (881, 24, 4)
    assert not inputs.flags.owndata and not targets.flags.owndata


def test_too_short_series_has_no_window():
    with pytest.raises(ValueError, match="no window"):
        make_windows(np.zeros((5, 1), dtype=np.float32), lookback=4, horizon=2, n_targets=1)


def test_changing_a_test_value_changes_neither_scaler_nor_training_windows(tiny_config, tmp_path):
    series = load_table(tiny_config.data)
    before = pipeline.split_and_scale(series, tiny_config)
    train_before, val_before = pipeline.make_train_windows(before, tiny_config)

    test_row = before.split.borders()[2] - 1
    series.frame.iloc[test_row, -1] += 1000.0
    after = pipeline.split_and_scale(series, tiny_config)
    train_after, val_after = pipeline.make_train_windows(after, tiny_config)

    assert after.scaler.to_json() == before.scaler.to_json()
    for windows_after, windows_before in ((train_after, train_before), (val_after, val_before)):
        torch.testing.assert_close(windows_after.inputs, windows_before.inputs)
        torch.testing.assert_close(windows_after.targets, windows_before.targets)
    assert not np.allclose(after.scaled[test_row], before.scaled[test_row])


def test_split_last_holds_out_the_last_horizon_of_every_series_and_windows_stay_inside_one(tmp_path):
    config = write_shaped(tmp_path, "many")
    series = load_table(config.data)
    prepared = pipeline.split_and_scale(series, config)
    split, horizon, lookback = prepared.split, 12, 48
    np.testing.assert_array_equal(split.val_end, series.offsets[1:] - horizon)
    np.testing.assert_array_equal(split.train_end, series.offsets[1:] - 2 * horizon)
    for part in ("train", "val", "test"):
        starts = split.starts(part)
        # the window's last target row is in the same series as its first input row
        assert (series.row_series[starts + lookback + horizon - 1] == series.row_series[starts]).all()
    assert list(split.window_counts("test")) == [1, 1, 1]
    assert list(split.window_counts("train")) == [
        n - 2 * horizon - lookback - horizon + 1 for n in SERIES_LENGTHS.values()
    ]
    train, val = pipeline.make_train_windows(prepared, config)
    assert len(train) == split.window_counts("train").sum() and len(val) == 3


def test_uniform_series_sampling_draws_every_series_about_equally_often(tmp_path):
    config = write_shaped(tmp_path, "many", long_frame({"long": 2000, "short": 150}))
    prepared = pipeline.split_and_scale(load_table(config.data), config)
    train, _ = pipeline.make_train_windows(
        prepared, tiny(config, **{"train.series_sampling": "uniform_series"})
    )
    drawn = train.starts[train.draw(torch.Generator().manual_seed(0))].numpy()
    share_short = (prepared.series.row_series[drawn] == 1).mean()
    assert 0.45 < share_short < 0.55  # by windows alone it would be about 0.04
