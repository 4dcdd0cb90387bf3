"""Windows: shapes, alignment with the series, zero-copy views, and no leakage across splits."""

import numpy as np
import pytest
import torch

from bilstm import pipeline
from bilstm.data import load_table
from bilstm.windows import make_windows, numpy_windows


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
