"""The deployments that `bilstm dashboard` serves, built from a `prefect.yaml` without a server: every
schedule kind and key that `prefect deploy` reads, the retrain trigger, and a clear error for anything
else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from deployments.serve import PREFECT_YAML, ScheduleError, TriggerError, runner_deployments

SCHEDULES = [
    {"cron": "0 8 1-7 * 1", "timezone": "Europe/Berlin", "day_or": False, "slug": "first-monday"},
    {"interval": 3600, "anchor_date": "2024-01-01T00:30:00Z", "timezone": "UTC", "active": False},
    {"interval": "PT15M", "parameters": {"output": "quarter.csv"}},
    {"rrule": "RRULE:FREQ=WEEKLY;BYDAY=MO,FR", "timezone": "America/Chicago"},
]


def write(tmp_path, schedules: list[dict]):
    spec = {"deployments": [{"name": "every-kind", "entrypoint": "flows/forecast.py:forecast_flow",
                             "parameters": {"output": "f.csv"}, "schedules": schedules}]}  # fmt: skip
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_the_shipped_file_serves_its_deployments_with_the_nightly_cron_and_the_hourly_monitor_off():
    served = {d.name: d for d in runner_deployments(PREFECT_YAML)}
    shipped = [entry["name"] for entry in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]]
    assert sorted(served) == sorted(shipped)
    names = {"backtest", "sweep", "forecast", "monitor", "nightly-retrain", "train", "retrain-on-degradation"}
    assert names <= served.keys()
    [nightly] = served["nightly-retrain"].schedules
    assert (nightly.schedule.cron, nightly.schedule.timezone, nightly.active) == ("0 2 * * *", "UTC", True)
    assert [served[name].schedules for name in ("train", "forecast", "backtest", "sweep")] == [[]] * 4
    [hourly] = served["monitor"].schedules
    assert (hourly.schedule.interval, hourly.schedule.timezone, hourly.active) == (
        timedelta(hours=1),
        "UTC",
        False,
    )


def test_every_schedule_kind_and_key_reaches_the_served_deployment(tmp_path):
    [deployment] = runner_deployments(write(tmp_path, SCHEDULES))
    cron, hourly, quarter, weekly = deployment.schedules

    assert (cron.schedule.cron, cron.schedule.timezone, cron.schedule.day_or) == (
        "0 8 1-7 * 1",
        "Europe/Berlin",
        False,
    )
    assert cron.slug == "first-monday" and cron.active

    assert hourly.schedule.interval == timedelta(hours=1)
    assert hourly.schedule.anchor_date == datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    assert hourly.active is False

    assert quarter.schedule.interval == timedelta(minutes=15)
    assert quarter.parameters == {"output": "quarter.csv"}

    assert "RRULE:FREQ=WEEKLY;BYDAY=MO,FR" in weekly.schedule.rrule
    assert weekly.schedule.timezone == "America/Chicago"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"cron": "0 2 * * *", "every": "night"}, "'every' is not a key of cron schedules"),
        (
            {"cron": "0 2 * * *", "anchor_date": "2024-01-01"},
            "'anchor_date' does not apply to cron schedules",
        ),
        ({"interval": 60, "day_or": False}, "'day_or' does not apply to interval schedules"),
        ({"timezone": "UTC"}, "needs exactly one of cron, interval, rrule (found keys timezone)"),
        (
            {"cron": "0 2 * * *", "interval": 60},
            "needs exactly one of cron, interval, rrule (found cron, interval)",
        ),
        ({"interval": "soon"}, "interval: Input should be a valid timedelta"),
        ({"cron": "0 2 * * *", "timezone": "Mars/Base"}, 'Invalid timezone: "Mars/Base"'),
        ({"cron": "every night"}, 'Invalid cron string: "every night"'),
    ],
)
def test_a_schedule_it_cannot_serve_is_an_error_naming_file_deployment_and_key(tmp_path, entry, message):
    path = write(tmp_path, [SCHEDULES[0], entry])
    with pytest.raises(ScheduleError) as error:
        runner_deployments(path)
    assert str(error.value).startswith(f"{path}: deployment 'every-kind': schedules[1]: ")
    assert message in str(error.value)


def test_the_retrain_deployment_triggers_on_the_models_degraded_event_with_a_six_hour_cool_down():
    served = {d.name: d for d in runner_deployments(PREFECT_YAML)}
    [trigger] = served["retrain-on-degradation"].triggers
    assert trigger.expect == {"bilstm.model.degraded"} and trigger.enabled
    assert trigger.match.model_dump() == {"prefect.resource.id": "bilstm.registered-model.bilstm-forecaster"}
    # reactive, threshold 1: the first event fires; later ones within `within` fall before the next bucket
    assert (trigger.posture.value, trigger.threshold, trigger.within) == ("Reactive", 1, timedelta(hours=6))
    assert trigger.for_each == {"prefect.resource.id"}
    assert trigger.parameters["model_name"] == "{{ event.resource['bilstm.model.name'] }}"
    assert [name for name, d in served.items() if d.triggers] == ["retrain-on-degradation"]


def write_trigger(tmp_path, entry: dict):
    spec = {"deployments": [{"name": "on-event", "entrypoint": "flows/retrain.py:retrain_flow",
                             "triggers": [{"expect": ["a.b"]}, entry]}]}  # fmt: skip
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"expect": ["a.b"], "withn": 60}, "'withn' is not a key of event triggers (they take type, match,"),
        ({"expect": ["a.b"], "within": "soon"}, "within: Input should be a valid timedelta"),
        ({"type": "webhook"}, "Input tag 'webhook' found using deployment_trigger_discriminator()"),
        (
            {"expect": ["a.b"], "posture": "Proactive", "within": 5},
            "`within` for Proactive triggers must be greater than or equal to 10 seconds",
        ),
    ],
)
def test_a_trigger_it_cannot_serve_is_an_error_naming_file_deployment_and_key(tmp_path, entry, message):
    path = write_trigger(tmp_path, entry)
    with pytest.raises(TriggerError) as error:
        runner_deployments(path)
    assert str(error.value).startswith(f"{path}: deployment 'on-event': triggers[1]: ")
    assert message in str(error.value)
