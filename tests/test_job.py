"""A forecaster's job: what makes two versions comparable, and its round trip through model-version tags."""

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
