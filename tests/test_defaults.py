"""Settings left to the data: lookback and segment length from the seasonal period and the train rows, the
warning for a lookback that eats the train rows, and the ETT borders of ETTh and ETTm files."""

import numpy as np
import pandas as pd
import pytest

from bilstm.config import DataConfig, PipelineConfig, with_overrides
from bilstm.data import load_table
from bilstm.defaults import resolve, seasonal_period
from bilstm.split import split_rows


def series_file(tmp_path, rows: int, freq: str, name: str = "data.csv") -> str:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2020-01-01", periods=rows, freq=freq),
            "y": rng.normal(size=rows).cumsum(),
        }
    )
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def job(path: str, **overrides) -> PipelineConfig:
    data = {"data.path": path, "data.time_column": "timestamp", "data.targets": ["y"], "data.setting": "S"}
    return with_overrides(PipelineConfig(), data | overrides)


def test_the_builtin_hourly_data_keeps_two_weeks_of_lookback_in_day_segments():
    resolved = resolve(PipelineConfig(), load_table(PipelineConfig().data))
    assert resolved.period == 24
    assert resolved.config.window.lookback == 336 and resolved.config.model.patch_len == 24
    assert resolved.derived == {"window.lookback": 336, "model.patch_len": 24} and resolved.warnings == []


def test_daily_data_gets_a_week_as_period_and_a_lookback_within_a_quarter_of_the_train_rows(tmp_path):
    config = job(series_file(tmp_path, 726, "D"))  # 508 train rows
    resolved = resolve(config, load_table(config.data))
    assert resolved.period == 7
    assert resolved.config.window.lookback == 98 and resolved.config.model.patch_len == 7  # 14 weeks
    short = job(series_file(tmp_path, 300, "D", "short.csv"))  # 210 train rows: a quarter is 52
    resolved = resolve(short, load_table(short.data))
    assert resolved.config.window.lookback == 49 and resolved.config.model.patch_len == 7  # whole weeks


def test_settings_the_user_chose_are_kept_and_a_lookback_eating_the_train_rows_warns(tmp_path):
    config = job(series_file(tmp_path, 726, "D"), **{"window.lookback": 336, "model.patch_len": 24})
    resolved = resolve(config, load_table(config.data))
    assert resolved.config.window.lookback == 336 and resolved.config.model.patch_len == 24
    assert resolved.derived == {}
    assert resolved.warnings == [
        "window.lookback=336 takes 66% of the 508 train rows (more than 25%): few training windows; the"
        " seasonal period of D data is 7 steps, and leaving the lookback unset picks 98"
    ]


def test_a_lookback_shorter_than_two_periods_gets_quarter_segments(tmp_path):
    config = job(series_file(tmp_path, 1200, "h"), **{"window.lookback": 40})
    resolved = resolve(config, load_table(config.data))
    assert resolved.config.model.patch_len == 10 and resolved.derived == {"model.patch_len": 10}


@pytest.mark.parametrize(
    ("name", "rows", "borders"),
    [("ETTh2.csv", 17420, (8640, 11520, 14400)), ("ETTm1.csv", 69680, (34560, 46080, 57600))],
)
def test_ett_files_get_their_standard_borders_by_name(tmp_path, name, rows, borders):
    split = split_rows(DataConfig(), name.removesuffix(".csv"), rows, 96, 24)
    assert split.borders() == borders
    # a file of another name with the same rows is split by fractions
    other = split_rows(DataConfig(), "load", rows, 96, 24)
    assert other.train_end == int(rows * 0.7)


def test_an_ettm_file_has_a_day_of_15_minute_steps_as_period(tmp_path):
    path = series_file(tmp_path, 69680, "15min", "ETTm1.csv")
    config = job(path)
    resolved = resolve(config, load_table(config.data))
    assert resolved.period == 96
    assert resolved.config.window.lookback == 14 * 96 and resolved.config.model.patch_len == 96


@pytest.mark.parametrize(("freq", "period"), [("h", 24), ("15min", 96), ("D", 7), ("W-SUN", 52), ("MS", 12)])
def test_seasonal_period_follows_the_frequency(freq, period):
    assert seasonal_period(freq) == period


def test_a_few_dozen_monthly_rows_get_a_working_lookback_and_a_split_with_a_horizon_each(tmp_path):
    config = job(series_file(tmp_path, 40, "MS"), **{"window.horizon": 6})
    resolved = resolve(config, load_table(config.data))
    lookback = resolved.config.window.lookback
    split = split_rows(config.data, "data", 40, lookback, 6)  # raises where no window fits
    assert resolved.period == 12 and lookback == 6
    train_end, val_end, test_end = split.borders()
    assert (train_end, val_end - train_end, test_end - val_end) == (26, 6, 8)
    assert resolved.warnings == [
        f"{config.data.path}: 40 rows are few for horizon 6: validation and test get one horizon at least"
        " (26 train rows, 6 validation, 8 test)"
    ]
