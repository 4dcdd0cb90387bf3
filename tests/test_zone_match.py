"""Data in a zone the model cannot read is refused beside its frequency (`bilstm.zone_match`): stamps with
offsets for a model of stamps without a zone; another zone's stamps where the model's steps count on its
wall clock or they would fall off its grid. A model recorded without a zone takes any, as before."""

from __future__ import annotations

import pandas as pd
import pytest

from bilstm.errors import DataValidationError
from bilstm.job import NAIVE, Job
from bilstm.window_spec import WindowSpec
from bilstm.zone_match import check_zone
from deployments.preflight import check_model_zone

HOURS = pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC")
DAYS = pd.date_range("2024-01-01", periods=400, freq="D")  # through both daylight-saving changes


def table(stamps) -> pd.DataFrame:
    return pd.DataFrame({"t": stamps.astype(str), "y": 1.0})


@pytest.mark.parametrize(
    ("stamps", "zone", "freq"),
    [
        (HOURS.tz_localize(None), NAIVE, "h"),
        (HOURS.tz_convert("+08:00"), "UTC", "h"),  # the same instants, on the model's hourly grid
        (HOURS.tz_convert("+05:30"), "UTC", "15min"),
        (DAYS.tz_localize("Europe/Berlin"), "Europe/Berlin", "D"),  # +01:00 and +02:00, as Berlin's clock
        (DAYS.tz_localize("UTC"), "UTC", "MS"),
        (DAYS, "Europe/Berlin", "D"),  # stamps without offsets: local times in the model's zone
        (DAYS.tz_localize("+08:00"), None, "D"),  # a model recorded before zones: any zone
    ],
)
def test_stamps_the_model_reads_on_its_own_grid_pass(stamps, zone, freq):
    check_zone(table(stamps), "data.csv", "t", zone, freq)


@pytest.mark.parametrize(
    ("stamps", "zone", "freq", "message"),
    [
        (
            HOURS.tz_convert("+08:00"),
            NAIVE,
            "h",
            r"^data\.csv: the stamps in 't' carry UTC offsets \(e\.g\. '2024-01-01 08:00:00\+08:00'\), the"
            r" model was trained on stamps without a zone; pass them without offsets, as local times$",
        ),
        (
            DAYS.tz_localize("+08:00"),
            "Europe/Berlin",
            "D",
            r"^data\.csv: the stamps in 't' are at UTC offset \+08:00 \(e\.g\. '2024-01-01 00:00:00\+08:00'"
            r"\), the model's zone is Europe/Berlin: its days \(D\) count on that wall clock; pass the"
            r" stamps in Europe/Berlin$",
        ),
        (
            DAYS.tz_localize("+01:00"),  # Berlin's winter offset all year: summer days start an hour late
            "Europe/Berlin",
            "D",
            r"UTC offset \+01:00 \(e\.g\. '2024-04-01 00:00:00\+01:00'\), the model's zone is Europe/Berlin",
        ),
        (
            HOURS.tz_convert("+05:30"),
            "UTC",
            "h",
            r"UTC offset \+05:30 .* the model's zone is UTC: converted there, they fall off its grid of hours"
            r" \(h\); pass the stamps in UTC$",
        ),
    ],
)
def test_stamps_in_a_zone_the_model_cannot_read_them_in_are_refused_naming_both_zones(
    stamps, zone, freq, message
):
    with pytest.raises(DataValidationError, match=message):
        check_zone(table(stamps), "data.csv", "t", zone, freq)


def test_a_job_records_its_zone_and_a_version_before_zones_takes_any():
    job = Job.of("series", "t", ["y"], ["y"], 12, "D", timezone="Europe/Berlin")
    assert Job.from_tags(job.to_tags()) == job
    before = Job.from_tags({k: v for k, v in job.to_tags().items() if k != "job.timezone"})
    assert before.timezone is None and before.differences(job) == []
    assert job.differences(Job.of("series", "t", ["y"], ["y"], 12, "D", timezone=NAIVE)) == [
        "timezone 'Europe/Berlin' vs 'none'"
    ]
    check_model_zone(table(DAYS.tz_localize("+08:00")), "data.csv", before)
    with pytest.raises(DataValidationError, match="the model's zone is Europe/Berlin"):
        check_model_zone(table(DAYS.tz_localize("+08:00")), "data.csv", job)


def test_a_bundle_written_before_zones_were_recorded_takes_any_zone():
    spec = WindowSpec("t", ["y"], ["y"], 48, 12, "h")
    assert spec.recorded_zone is None
    assert WindowSpec("t", ["y"], ["y"], 48, 12, "h", zone_recorded=True).recorded_zone == NAIVE
