"""The data is read once per command: the flow's read (`tasks.data.loaded_with_notes`) takes what the
command line's checks read (`tasks.read_once`), with what reading warned of, unless the file or the config
changed."""

import warnings

from bilstm.data import load_table
from tasks import read_once
from tasks.data import loaded_with_notes
from tests.helpers import data_config, synthetic_frame, write_table


def _checked(config):
    with warnings.catch_warnings():  # as the command line's checks read: quietly
        warnings.simplefilter("ignore")
        return read_once.keep(load_table, config)


def test_the_flows_read_is_the_checks_read_with_its_notes(tmp_path):
    frame = synthetic_frame(200)
    config = data_config(write_table(tmp_path, frame.iloc[[1, 0, *range(2, 200)]]))  # rows 1 and 2 swapped
    checked = _checked(config)
    taken = loaded_with_notes(load_table, config)
    assert taken is checked
    assert any("timestamps were not sorted" in note for note in taken.notes)


def test_a_kept_read_serves_one_flow_read_then_the_file_is_read_again(tmp_path):
    config = data_config(write_table(tmp_path, synthetic_frame(200)))
    checked = _checked(config)
    assert read_once.take(load_table, config) is checked
    assert read_once.take(load_table, config) is not checked


def test_a_file_rewritten_or_another_config_after_the_checks_is_read_again(tmp_path):
    config = data_config(write_table(tmp_path, synthetic_frame(200)))
    _checked(config)
    write_table(tmp_path, synthetic_frame(300))
    assert len(read_once.take(load_table, config).frame) == 300
    _checked(config)
    assert read_once.take(load_table, data_config(config.path, setting="MS")).input_columns == ["x", "y"]
