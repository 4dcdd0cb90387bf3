"""Ingest and split, of one series and of many in a long table: validation errors name the file, column,
rows and, in a long table, the series; sorting and merging within a series; ETT borders; missing-value
policy; a series too short or constant named, or left out with skip_short."""

import warnings

import numpy as np
import pandas as pd
import pytest

from bilstm.config import DataConfig
from bilstm.data import DataValidationError, builtin_path, load_table
from bilstm.pipeline import split_and_scale
from bilstm.split import split_rows
from tests.helpers import (
    SERIES_LENGTHS,
    data_config,
    long_frame,
    shaped_frame,
    synthetic_frame,
    write_shaped,
    write_table,
)


def test_builtin_dataset_loads_with_ot_target_and_six_features():
    series = load_table(DataConfig())
    assert series.name == "ETTh1" and series.freq == "h"
    assert series.input_columns == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert series.target_columns == ["OT"]
    assert len(series.frame) == 17420
    assert builtin_path().endswith("ETTh1.csv")


def test_settings_choose_input_and_target_columns(tmp_path):
    path = write_table(tmp_path, synthetic_frame(100))
    assert load_table(data_config(path, setting="S")).input_columns == ["y"]
    assert load_table(data_config(path, setting="MS")).input_columns == ["x", "y"]
    m = load_table(data_config(path, setting="M"))
    assert m.input_columns == m.target_columns == ["x", "y"]


def test_parquet_reads_like_csv(tmp_path):
    frame = synthetic_frame(100)
    csv = load_table(data_config(write_table(tmp_path, frame)))
    parquet = load_table(data_config(write_table(tmp_path, frame, "data.parquet")))
    np.testing.assert_allclose(parquet.values, csv.values)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns="y"), r"column 'y' not found; available: timestamp, x"),
        (lambda f: f.drop(columns="timestamp"), r"time column 'timestamp' not found"),
        (lambda f: f.assign(y=f.y.where(f.index != 10)), r"column 'y' has missing values in row 11;"),
        (
            lambda f: f.assign(x=f.x.astype(object).where(f.index != 4, "abc")),
            r"column 'x' is not numeric \(row 5",
        ),
        (
            lambda f: f.assign(timestamp=f.timestamp.astype(str).where(f.index != 2, "yesterday")),
            r"unparseable timestamps in row 3 \(e.g. 'yesterday'\)",
        ),
        (
            lambda f: f.assign(timestamp=f.timestamp.where(f.index != 7, f.timestamp[6])),
            r"duplicate timestamps in rows 7, 8; set data.duplicates to first, last or mean to merge them, or"
            r" drop them$",
        ),
        (lambda f: f.assign(y=f.y.where(f.index != 3, np.inf)), r"column 'y' has inf in row 4"),
    ],
)
def test_bad_input_names_file_column_and_rows(tmp_path, mutate, message):
    path = write_table(tmp_path, mutate(synthetic_frame(50)))
    with pytest.raises(DataValidationError, match=message) as error:
        load_table(data_config(path))
    assert path in str(error.value)


def test_missing_file_and_unsupported_format_are_clear(tmp_path):
    with pytest.raises(DataValidationError, match="nowhere.csv: file not found"):
        load_table(data_config(str(tmp_path / "nowhere.csv")))
    other = tmp_path / "data.xlsx"
    other.write_text("x")
    with pytest.raises(DataValidationError, match="unsupported format"):
        load_table(data_config(str(other)))


def test_empty_file_is_refused(tmp_path):
    path = write_table(tmp_path, synthetic_frame(5).iloc[:0])
    with pytest.raises(DataValidationError, match="no data rows"):
        load_table(data_config(path))


@pytest.mark.parametrize(
    ("shape", "warned", "ids"),
    [
        ("one", "timestamps were not sorted", ["series"]),
        ("many", "rows were not grouped by series and sorted in time", ["a", "b", "c"]),
    ],
)
def test_shuffled_rows_are_grouped_by_series_and_sorted_in_time_with_a_warning(tmp_path, shape, warned, ids):
    frame = shaped_frame(shape)
    config = write_shaped(tmp_path, shape, frame.sample(frac=1, random_state=1))
    with pytest.warns(UserWarning, match=warned):
        series = load_table(config.data)
    assert list(series.ids) == ids and series.freq == "h"
    assert list(series.lengths) == list(SERIES_LENGTHS.values())[: len(ids)]
    for number in range(len(series.ids)):
        assert series.frame.index[series.rows_of(number)].is_monotonic_increasing
    # the file's series are grouped and each in time order: their values as `frame` lists them
    np.testing.assert_allclose(series.frame["y"].to_numpy(), frame["y"].to_numpy())


def test_series_grouped_and_in_time_order_load_silently_whatever_the_order_of_their_ids(tmp_path):
    frame = shaped_frame("many")
    backwards = pd.concat([frame[frame.id == name] for name in ("c", "a", "b")])
    config = write_shaped(tmp_path, "many", backwards)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the 'not grouped by series' warning would fail the test
        series = load_table(config.data)
    assert list(series.ids) == ["a", "b", "c"]
    np.testing.assert_allclose(series.frame["y"].to_numpy(), frame["y"].to_numpy())


@pytest.mark.parametrize(("policy", "kept"), [("first", 1.0), ("last", 3.0), ("mean", 2.0)])
def test_rows_sharing_a_timestamp_are_merged_as_data_duplicates_says_with_a_warning(tmp_path, policy, kept):
    frame = synthetic_frame(50)
    frame.loc[6, "y"] = 1.0
    again = frame.iloc[[6, 6]].assign(y=[2.0, 3.0])  # two more rows of row 7's stamp, right after it
    path = write_table(tmp_path, pd.concat([frame[:7], again, frame[7:]]))
    merged = r"3 rows share their timestamp with another; merged them into 1 row, .* \(data.duplicates="
    with pytest.warns(UserWarning, match=merged + policy):
        series = load_table(data_config(path, duplicates=policy))
    assert series.frame.index.equals(pd.DatetimeIndex(frame.timestamp, name="timestamp"))
    np.testing.assert_array_equal(series.frame["y"].to_numpy(), frame.y.where(frame.index != 6, kept))
    np.testing.assert_array_equal(series.frame["x"].to_numpy(), frame.x.to_numpy())


@pytest.mark.parametrize("policy", ["ffill", "interpolate"])
def test_missing_value_policies_fill_gaps(tmp_path, policy):
    frame = synthetic_frame(60)
    frame.loc[[5, 6], "y"] = np.nan
    series = load_table(data_config(write_table(tmp_path, frame), missing=policy))
    step = (frame.y[7] - frame.y[4]) / 3
    filled = [frame.y[4]] * 2 if policy == "ffill" else [frame.y[4] + step, frame.y[4] + 2 * step]
    expected = frame.y.fillna(pd.Series(filled, index=[5, 6]))  # the other rows as they were
    np.testing.assert_allclose(series.frame["y"].to_numpy(), expected.to_numpy())


@pytest.mark.parametrize(("shape", "row"), [("one", 10), ("many", 210)])  # many: series b's row 11
def test_a_repeated_stamp_is_averaged_within_its_own_series_only(tmp_path, shape, row):
    frame = shaped_frame(shape)
    again = frame.iloc[[row]].assign(y=frame.y[row] + 10)  # the row again, 10 higher, at the file's end
    config = write_shaped(tmp_path, shape, pd.concat([frame, again], ignore_index=True))
    merged = r"2 rows share their timestamp (within their series )?with another"
    with pytest.warns(UserWarning, match=merged):
        series = load_table(config.data.model_copy(update={"duplicates": "mean"}))
    assert list(series.lengths) == list(SERIES_LENGTHS.values())[: len(series.ids)]
    expected = frame.y.to_numpy().copy()
    expected[row] += 5
    np.testing.assert_allclose(series.frame["y"].to_numpy(), expected)
    assert series.file_rows[row] == row + 1  # the merged row is named by its first file row


def _every_second_hour_for_c(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[frame.id == "c", "ds"] = pd.date_range("2024-01-01", periods=230, freq="2h").to_numpy()
    return frame


@pytest.mark.parametrize(
    ("shape", "change", "message"),
    [
        (
            "one",
            lambda f: pd.concat([f, f.iloc[[10]]], ignore_index=True),
            r"column 'ds' has duplicate timestamps in rows 11, 201; set data.duplicates to first, last or"
            r" mean to merge them, or drop them$",
        ),
        (
            "many",
            lambda f: pd.concat([f, f.iloc[[210]]], ignore_index=True),
            r"series 'b' has duplicate timestamps in column 'ds' in rows 211, 691; keep one row per series"
            r" and time, or set data.duplicates to first, last or mean to merge them$",
        ),
        (
            "one",
            lambda f: f.drop(index=range(100, 110)),
            r": a gap of 0 days 11:00:00 between rows 100 and 101 .* is longer than data.max_gap=3 steps",
        ),
        (
            "many",
            lambda f: f.drop(index=range(300, 310)),
            r"series 'b' \(file rows 201-450\) has a gap of 0 days 11:00:00 between rows 300 and 301 .* is"
            r" longer than data.max_gap=3 steps of h",
        ),
        (
            "many",
            lambda f: f.drop(columns="id"),
            r"series column 'id' not found; available: ds, y \(set --series-column\)",
        ),
        ("many", lambda f: f.assign(id=f.id.where(f.index != 5)), r"series column 'id' is empty in row 6;"),
        (
            "many",
            _every_second_hour_for_c,
            r"series 'c' \(file rows 461-690\) steps by 2 steps of h, the table by one;",
        ),
    ],
    ids=[
        "a repeated stamp, one",
        "a repeated stamp, many",
        "a long gap, one",
        "a long gap, many",
        "no series column",
        "an empty id",
        "another frequency",
    ],  # fmt: skip
)
def test_bad_tables_are_refused_naming_the_rows_and_in_a_long_table_the_series(
    tmp_path, shape, change, message
):
    config = write_shaped(tmp_path, shape, change(shaped_frame(shape)))
    with pytest.raises(DataValidationError, match=message) as error:
        load_table(config.data)
    assert str(error.value).startswith(f"{config.data.path}: ")


@pytest.mark.parametrize(
    ("shape", "rows", "message"),
    [
        (
            "one",
            range(200),
            r"target column 'y' is constant \(4\) in the train rows 1-140; there is nothing to learn",
        ),
        (
            "many",
            range(200, 460),
            r"series 'b' \(file rows 201-460\) has a constant target 'y' \(4\) in its train rows 201-436;",
        ),
    ],
)
def test_a_constant_target_is_refused_naming_the_series(tmp_path, shape, rows, message):
    frame = shaped_frame(shape)
    frame.loc[rows, "y"] = 4.0  # series a alone; of many, series b
    config = write_shaped(tmp_path, shape, frame)
    with pytest.raises(DataValidationError, match=message):
        split_and_scale(load_table(config.data), config)


def test_a_short_series_is_named_or_left_out_with_skip_short(tmp_path):
    config = write_shaped(tmp_path, "many", long_frame({**SERIES_LENGTHS, "short": 80}))
    series = load_table(config.data)
    with pytest.raises(
        DataValidationError, match=r"series 'short' \(file rows 691-770\) has 80 rows, too few"
    ):
        split_and_scale(series, config)
    config = write_shaped(
        tmp_path, "many", long_frame({**SERIES_LENGTHS, "short": 80}), **{"data.skip_short": True}
    )
    with pytest.warns(UserWarning, match="left out 1 series too short"):
        prepared = split_and_scale(series, config)
    assert list(prepared.series.ids) == ["a", "b", "c"]


def test_ett_borders_for_the_builtin_dataset_and_fractions_elsewhere():
    split = split_rows(DataConfig(), "ETTh1", 17420, lookback=96, horizon=24)
    assert split.borders() == (8640, 11520, 14400)
    assert split.rows("val") == slice(8640 - 96, 11520) and split.rows("test") == slice(11520 - 96, 14400)
    other = split_rows(DataConfig(), "sales", 1000, lookback=10, horizon=5)
    assert (other.train_end, other.val_end, other.test_end) == (700, 800, 1000)


def test_too_few_rows_for_the_windows_is_clear():
    with pytest.raises(DataValidationError, match=r"too few rows \(100\) for lookback 96 \+ horizon 24"):
        split_rows(DataConfig(), "small", 100, lookback=96, horizon=24)


# --- messages ---


def _two_sensors(frame: pd.DataFrame, codes=("north", "south")) -> pd.DataFrame:
    """Two series in one long table, told apart by column `sensor`."""
    return pd.concat([frame.assign(sensor=code) for code in codes], ignore_index=True)


# bad file made from the 50-row synthetic series -> the whole message after its path
WHOLE_MESSAGES = {
    "a missing target column hints at the target option": (
        lambda f: f.drop(columns="y"),
        "column 'y' not found; available: timestamp, x; choose the target with --target",
    ),
    "missing values of every used column are named in one message": (
        lambda f: f.assign(x=f.x.where(~f.index.isin([2, 3])), y=f.y.where(~f.index.isin(range(10, 21)))),
        "column 'x' has missing values in rows 3, 4, column 'y' in rows 11, 12, 13 (and 8 more); fill them or"
        " set data.missing to ffill or interpolate",
    ),
    "a long table of several series names the column that tells them apart": (
        _two_sensors,
        "column 'timestamp' has duplicate timestamps in rows 1, 2, 3, 4, 5 (and 95 more): this looks like 2"
        " series in one table, told apart by column 'sensor'; pass --series-column sensor to train one model"
        " across them",
    ),
}


@pytest.mark.parametrize("case", WHOLE_MESSAGES, ids=list(WHOLE_MESSAGES))
def test_the_message_is_the_path_then_what_is_wrong_and_the_fix(tmp_path, case):
    make, message = WHOLE_MESSAGES[case]
    path = write_table(tmp_path, make(synthetic_frame(50)))
    with pytest.raises(DataValidationError) as error:
        load_table(data_config(path))
    assert str(error.value) == f"{path}: {message}"


def test_integer_codes_also_name_the_column_that_tells_series_apart(tmp_path):
    path = write_table(tmp_path, _two_sensors(synthetic_frame(50), codes=(7, 9)))
    with pytest.raises(DataValidationError, match="told apart by column 'sensor'"):
        load_table(data_config(path))


def test_a_stray_repeated_stamp_in_one_series_is_only_a_duplicate(tmp_path):
    frame = synthetic_frame(50)
    stray = frame.assign(
        sensor="north", timestamp=frame.timestamp.where(frame.index != 7, frame.timestamp[6])
    )
    with pytest.raises(DataValidationError, match=r"duplicate timestamps in rows 7, 8; set data.duplicates"):
        load_table(data_config(write_table(tmp_path, stray)))


def test_messages_cap_long_lists_of_columns_and_rows(tmp_path):
    frame = synthetic_frame(50).drop(columns="y")
    wide = frame.assign(**{f"sensor_{'reading_' * 6}{i}": 0.0 for i in range(60)})
    path = write_table(tmp_path, wide, "w.csv")
    with pytest.raises(DataValidationError) as error:
        load_table(data_config(path))
    message = str(error.value)
    assert len(message) - len(path) < 300 and "(and 58 more); choose the target with --target" in message

    many = synthetic_frame(50).assign(**{f"c{i}": np.nan for i in range(10)})
    with pytest.raises(DataValidationError) as error:
        load_table(data_config(write_table(tmp_path, many, "m.csv"), features=[f"c{i}" for i in range(10)]))
    message = str(error.value)
    assert len(message) - len(path) < 300
    assert "column 'c0' has missing values in rows 1, 2, 3 (and 47 more), column 'c1' in rows" in message
    assert "(and 7 more columns); fill them" in message
