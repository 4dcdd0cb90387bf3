"""A forecaster's job: what makes two versions comparable, and its round trip through model-version tags."""

import numpy as np
import pandas as pd

from bilstm.config import DataConfig, PipelineConfig, with_overrides
from bilstm.data import SeriesTable
from bilstm.job import Job

HOURLY = Job.of("ETTh1", "date", ["HUFL", "OT"], ["OT"], 24, "h")


def test_a_job_survives_its_tags_with_any_column_name():
    job = Job.of("load, 2024", "time", ["a,b", "y"], ["y"], 12, "30min")
    assert Job.from_tags({**job.to_tags(), "promotion": "x"}) == job


def test_a_version_without_job_tags_has_no_recorded_job():
    assert Job.from_tags({"promotion": "x"}) is None


def test_each_difference_is_named_ours_vs_theirs():
    taxi = Job.of("taxi", "time", ["passengers"], ["passengers"], 12, "30min")
    assert HOURLY.differences(taxi) == [
        "data 'ETTh1' vs 'taxi'",
        "time_column 'date' vs 'time'",
        "inputs HUFL,OT vs passengers",
        "targets OT vs passengers",
        "horizon 24 vs 12",
        "freq 'h' vs '30min'",
    ]


def test_the_same_job_in_other_spellings_is_comparable():
    assert HOURLY.differences(Job.of("ETTh1", "date", ("HUFL", "OT"), ("OT",), 24, "60min")) == []


def _job_of_file(name: str, frame: pd.DataFrame, ids: list[str] | None = None) -> Job:
    """The job of training on `frame` (hourly `y`) read from a file called `name`."""
    config = PipelineConfig(data=DataConfig(path=f"{name}.csv", targets=["y"], setting="S"))
    indexed = frame.set_index("date")
    column = None if ids is None else "id"
    if column is not None:
        config = with_overrides(config, {"data.series_column": column})
    table = SeriesTable(
        indexed, np.array(ids or ["series"], dtype=object), np.array([0, len(frame)]),
        np.arange(1, len(frame) + 1), f"{name}.csv", name, column, ["y"], ["y"], "h",
    )  # fmt: skip
    return Job.for_run(table, config)


def _hours(start: str, rows: int, seed: int) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=rows, freq="h")
    return pd.DataFrame({"date": stamps, "y": np.random.default_rng(seed).normal(size=rows)})


def test_the_nightly_file_of_the_same_series_is_the_same_job_whatever_its_name():
    history = _hours("2024-01-01", 200, seed=0)
    tonight = pd.concat([history.iloc[24:], _hours("2024-01-09 08:00", 24, seed=1)], ignore_index=True)
    assert _job_of_file("latest", history).differences(_job_of_file("2024-01-09", tonight)) == []


def test_another_series_in_a_file_of_the_same_name_is_another_job():
    cpu1, cpu3 = _hours("2024-01-01", 200, seed=0), _hours("2024-01-01", 200, seed=3)
    differences = _job_of_file("latest", cpu3).differences(_job_of_file("latest", cpu1))
    assert differences == ["the series (data 'latest' vs 'latest'): other values at the same stamps"]


def test_many_series_are_the_same_job_when_their_ids_are_the_same():
    table = _hours("2024-01-01", 100, seed=0)
    same = _job_of_file("stores-monday", table, ["a"]).differences(
        _job_of_file("stores-tuesday", table, ["a"])
    )
    other = _job_of_file("stores", table, ["a"]).differences(_job_of_file("stores", table, ["b"]))
    assert same == [] and len(other) == 1 and other[0].startswith("series 1 series #")
