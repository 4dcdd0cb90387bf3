"""Data at another frequency than the model's is refused before a forecast or a monitoring run
(`bilstm.frequency_match`, `deployments.preflight.check_model_frequency`); a model registered before calendar
frequencies, whose job stores a fixed step (`744h`), still takes data of the calendar step it stood for."""

from __future__ import annotations

import pandas as pd
import pytest

from bilstm.errors import DataValidationError
from bilstm.frequency_match import same_frequency, table_freq
from bilstm.job import Job
from deployments.preflight import check_model_frequency


@pytest.mark.parametrize(
    ("data", "model"),
    [("h", "60min"), ("D", "24h"), ("MS", "MS"), ("QS-JAN", "QS-OCT"), ("YS-JAN", "YS"), ("MS", "744h"),
     ("ME", "720h"), ("QS-JAN", "2208h"), ("W-SUN", "168h"), ("B", "24h")],
)  # fmt: skip
def test_data_at_the_models_frequency_in_another_spelling_or_an_older_models_fixed_step_passes(data, model):
    assert same_frequency(data, model)


@pytest.mark.parametrize(
    ("data", "model"),
    [("D", "h"), ("30min", "h"), ("MS", "ME"), ("W-SUN", "W-MON"), ("2MS", "MS"), ("24h", "B"), ("h", "B"),
     ("MS", "24h"), ("D", "W-SUN")],
)  # fmt: skip
def test_data_at_another_frequency_than_the_models_is_told_apart(data, model):
    assert not same_frequency(data, model)


def test_a_daily_history_for_an_hourly_model_is_refused_in_words():
    job = Job.of("series", "timestamp", ["y"], ["y"], 12, "h")
    daily = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=30, freq="D"), "y": 1.0})
    message = r"^daily\.csv: the data steps by days \(D\), the model by hours \(h\); pass data at the model's"
    with pytest.raises(DataValidationError, match=message):
        check_model_frequency(daily, "daily.csv", job)
    check_model_frequency(daily, "daily.csv", Job.of("series", "timestamp", ["y"], ["y"], 12, "D"))


def test_a_long_tables_frequency_is_read_per_series_and_unreadable_stamps_are_left_to_the_flow():
    stamps = pd.date_range("2024-01-01", periods=10, freq="MS")
    table = pd.DataFrame({"t": list(stamps) * 2, "id": ["a"] * 10 + ["b"] * 10})
    assert table_freq(table, "long.csv", "t", "id") == "MS"
    assert table_freq(table.assign(t="soon"), "long.csv", "t", "id") is None
