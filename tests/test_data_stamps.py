"""Time stamps on load: gaps within and beyond data.max_gap, stamp formats with and without UTC offsets,
data.timezone and daylight saving; each error names the file, the column and the rows."""

import warnings

import numpy as np
import pandas as pd
import pytest

from bilstm.config import DataConfig
from bilstm.data import DataValidationError, load_table
from tests.helpers import data_config, synthetic_frame, write_table


def _hours_later(frame: pd.DataFrame, after_row: int, hours: int) -> pd.DataFrame:
    """`frame` with every timestamp after data row `after_row` (1-based) moved `hours` later."""
    later = frame.timestamp + pd.Timedelta(hours=hours)
    return frame.assign(timestamp=frame.timestamp.where(frame.index < after_row, later))


def test_a_gap_within_max_gap_loads_with_a_warning(tmp_path):
    path = write_table(tmp_path, _hours_later(synthetic_frame(60), 30, 2))  # one step of 3 hours
    with pytest.warns(UserWarning, match=r"not evenly spaced: 1 gap\(s\) with 2 missing step\(s\) of h"):
        series = load_table(data_config(path))
    assert series.freq == "h" and len(series.frame) == 60


def test_a_gap_beyond_max_gap_names_the_file_rows_and_the_fix(tmp_path):
    path = write_table(tmp_path, _hours_later(synthetic_frame(60), 30, 5))  # one step of 6 hours
    message = (
        r"a gap of 0 days 06:00:00 between rows 30 and 31 \(2024-01-02 05:00:00 -> 2024-01-02 11:00:00\)"
        r" is longer than data.max_gap=3 steps of h; fill or resample the missing timestamps, or raise"
        r" data.max_gap"
    )
    with pytest.raises(DataValidationError, match=message) as error:
        load_table(data_config(path))
    assert str(error.value).startswith(path)
    with pytest.warns(UserWarning, match="not evenly spaced"):  # the tolerance is the user's to raise
        assert len(load_table(data_config(path, max_gap=6)).frame) == 60


def test_gap_rows_are_the_file_rows_when_the_file_was_unsorted(tmp_path):
    frame = _hours_later(synthetic_frame(60), 30, 5).iloc[::-1]  # the gap lies between file rows 30 and 31
    path = write_table(tmp_path, frame)
    with pytest.raises(DataValidationError, match="between rows 31 and 30"), pytest.warns(UserWarning):
        load_table(data_config(path))


# --- timestamps with UTC offsets ---

HOURS = pd.date_range("2024-03-30", periods=60, freq="h", tz="UTC")  # crosses Berlin's spring change
STAMP_FORMATS = {
    "naive": (HOURS.tz_convert(None).astype(str), None),
    "+08:00": (HOURS.tz_convert("+08:00").astype(str), "+08:00"),
    "Z": (HOURS.strftime("%Y-%m-%dT%H:%M:%SZ"), "UTC"),
    "Berlin, mixed DST offsets": (HOURS.tz_convert("Europe/Berlin").astype(str), "UTC"),
}


@pytest.mark.parametrize("stamps", STAMP_FORMATS, ids=list(STAMP_FORMATS))
def test_each_stamp_format_loads_on_a_regular_hourly_grid_with_its_zone(tmp_path, stamps):
    written, zone = STAMP_FORMATS[stamps]
    path = write_table(tmp_path, synthetic_frame(60).assign(timestamp=written))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        series = load_table(data_config(path))

    assert series.freq == "h" and series.timezone == zone
    expected = HOURS.tz_convert(None) if zone is None else HOURS  # offsets: one UTC time line
    assert (series.frame.index == expected).all()
    mixed = [str(w.message) for w in caught if "mixes UTC offsets" in str(w.message)]
    if stamps.startswith("Berlin"):
        assert mixed == [
            f"{path}: column 'timestamp' mixes UTC offsets (+01:00, +02:00), as local time with daylight"
            " saving does; forecast stamps will be in UTC: set data.timezone (e.g. Europe/Berlin) to have"
            " them in local time"
        ]
    else:
        assert mixed == []


def test_mixed_dst_offsets_with_data_timezone_keep_that_zone_without_a_warning(tmp_path):
    written, _ = STAMP_FORMATS["Berlin, mixed DST offsets"]
    path = write_table(tmp_path, synthetic_frame(60).assign(timestamp=written))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*mixes UTC offsets")
        series = load_table(data_config(path, timezone="Europe/Berlin"))
    assert series.timezone == "Europe/Berlin" and (series.frame.index == HOURS).all()


def test_naive_stamps_with_data_timezone_are_local_times_and_a_skipped_hour_is_named(tmp_path):
    local = pd.Series(HOURS.tz_convert("Europe/Berlin").tz_localize(None))
    path = write_table(tmp_path, synthetic_frame(60).assign(timestamp=local))
    series = load_table(data_config(path, timezone="Europe/Berlin"))
    assert (series.frame.index == HOURS).all()

    skipped = local.where(local.index != 40, pd.Timestamp("2024-03-31 02:30"))  # no such time in Berlin
    path = write_table(tmp_path, synthetic_frame(60).assign(timestamp=skipped), "skipped.csv")
    message = (
        r"'timestamp' has local times that Europe/Berlin skips or repeats \(daylight saving\) in row 41"
        r" \(e\.g\. '2024-03-31 02:30:00'\); write the stamps with their UTC offsets"
    )
    with pytest.raises(DataValidationError, match=message):
        load_table(data_config(path, timezone="Europe/Berlin"))


def test_stamps_mixing_offsets_and_none_name_the_column_and_rows(tmp_path):
    written = (
        HOURS.tz_convert("+08:00").astype(str).where(np.arange(60) % 20 != 3, HOURS.astype(str).str[:19])
    )
    path = write_table(tmp_path, synthetic_frame(60).assign(timestamp=written))
    message = (
        f"{path}: column 'timestamp' mixes stamps with a UTC offset (e.g. '2024-03-30 08:00:00+08:00') and"
        " stamps without one (rows 4, 24, 44); write every stamp with its offset, or none"
    )
    with pytest.raises(DataValidationError) as error:
        load_table(data_config(path))
    assert str(error.value) == message


def test_an_unknown_timezone_is_a_config_error():
    with pytest.raises(ValueError, match=r"unknown time zone 'Europe/Berln'; use an IANA name"):
        DataConfig(timezone="Europe/Berln")
