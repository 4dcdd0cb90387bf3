"""Serve the deployments of `prefect.yaml` from one process: schedules fire and UI "Run" buttons work.

`bilstm dashboard` runs this beside a Prefect server. It reads the same YAML that `prefect deploy` reads, so
the served and the work-pool deployments never drift apart: every schedule kind and key that `prefect deploy`
reads, the event triggers (each one an automation that runs its deployment), and a clear error for any other
key; `--prefect-file` serves another such file.
"""

from __future__ import annotations

import argparse
import importlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow, serve
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentTriggerTypes
from prefect.schedules import Schedule
from pydantic import TypeAdapter, ValidationError

PREFECT_YAML = Path(__file__).with_name("prefect.yaml")
KINDS = ("cron", "interval", "rrule")
# the keys that a schedule of `prefect.yaml` may have besides its kind, and the kinds each applies to
OPTIONS = {"timezone": KINDS, "active": KINDS, "parameters": KINDS, "slug": KINDS,
           "day_or": ("cron",), "anchor_date": ("interval",)}  # fmt: skip
VALUE_TYPES = {"cron": str, "rrule": str, "interval": timedelta, "anchor_date": datetime, "timezone": str,
               "day_or": bool, "active": bool, "parameters": dict[str, Any], "slug": str}  # fmt: skip


class ScheduleError(ValueError):
    """A schedule of `prefect.yaml` that this entry cannot serve as written; the message says where."""


class TriggerError(ValueError):
    """A trigger of `prefect.yaml` that this entry cannot serve as written; the message says where."""


def load_flow(entrypoint: str) -> Flow:
    """`flows/train.py:train_flow` -> the flow object, imported as a module of the installed package."""
    path, name = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def schedule(entry: dict, where: str = "schedule") -> DeploymentScheduleCreate:
    """One item of a deployment's `schedules:`, with every key that `prefect deploy` reads: exactly one of
    `cron` (with `day_or`), `interval` (seconds, an ISO 8601 duration or HH:MM:SS; with `anchor_date`) or
    `rrule` (an RRULE string, or Prefect's JSON form of one), and `timezone`, `active`, `parameters`, `slug`.

    Raises:
        ScheduleError: an unknown key or kind, a key that does not apply to the kind, or a bad value;
            the message starts with `where`.
    """
    kinds = [kind for kind in KINDS if entry.get(kind) is not None]
    if len(kinds) != 1:
        found = f"found {', '.join(kinds)}" if kinds else f"found keys {', '.join(map(str, entry)) or 'none'}"
        raise ScheduleError(f"{where}: needs exactly one of {', '.join(KINDS)} ({found})")
    kind = kinds[0]
    allowed = [key for key, kinds_of in OPTIONS.items() if kind in kinds_of]
    for key in entry:
        if key != kind and key not in allowed:
            problem = "does not apply to" if key in VALUE_TYPES else "is not a key of"
            raise ScheduleError(
                f"{where}: {key!r} {problem} {kind} schedules (they take {', '.join(allowed)})"
            )
    fields = {}
    for key, value in entry.items():
        try:
            fields[key] = TypeAdapter(VALUE_TYPES[key]).validate_python(value)
        except ValidationError as error:
            raise ScheduleError(f"{where}: {key}: {error.errors()[0]['msg']} (got {value!r})") from None
    if kind == "rrule" and fields["rrule"].lstrip().startswith("{"):  # Prefect's JSON form of one
        try:
            spec = json.loads(fields["rrule"])
            fields["rrule"], zone = spec["rrule"], spec.get("timezone")
        except (ValueError, KeyError, TypeError):
            raise ScheduleError(
                f"{where}: rrule: not an RRULE string nor Prefect's JSON form of one"
            ) from None
        fields["timezone"] = fields.get("timezone") or zone
    try:
        return DeploymentScheduleCreate.from_schedule(Schedule(**fields))
    except ValidationError as error:  # a field of Prefect's schedule model, such as the time zone
        raise ScheduleError(f"{where}: {error.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    except ValueError as error:
        raise ScheduleError(f"{where}: {error}") from None


def trigger(entry: dict, where: str = "trigger") -> DeploymentTriggerTypes:
    """One item of a deployment's `triggers:`, read as `prefect deploy` reads it (an event, metric, compound
    or sequence trigger with the run's `parameters`, which may be Jinja templates over the `event`).

    Raises:
        TriggerError: a bad value, or a key that the trigger's type does not have: Prefect would ignore it,
            and a misspelt `within` would silently drop a cool-down. The message starts with `where`.
    """
    try:
        parsed = TypeAdapter(DeploymentTriggerTypes).validate_python(entry)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(map(str, first["loc"][1:]))  # the first item is the trigger's type
        raise TriggerError(
            f"{where}: {field + ': ' if field else ''}{first['msg'].removeprefix('Value error, ')}"
        ) from None
    known = type(parsed).model_fields
    for key in entry:
        if key not in known:
            raise TriggerError(
                f"{where}: {key!r} is not a key of {parsed.type} triggers (they take {', '.join(known)})"
            )
    return parsed


def runner_deployments(prefect_file: Path = PREFECT_YAML) -> list[RunnerDeployment]:
    spec = yaml.safe_load(prefect_file.read_text())
    return [
        load_flow(entry["entrypoint"]).to_deployment(
            name=entry["name"],
            description=entry.get("description"),
            tags=entry.get("tags"),
            schedules=[
                schedule(item, f"{prefect_file}: deployment {entry['name']!r}: schedules[{i}]")
                for i, item in enumerate(entry.get("schedules") or [])
            ],
            parameters=entry.get("parameters") or {},
            triggers=[
                trigger(item, f"{prefect_file}: deployment {entry['name']!r}: triggers[{i}]")
                for i, item in enumerate(entry.get("triggers") or [])
            ],
        )
        for entry in spec["deployments"]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prefect-file", type=Path, default=PREFECT_YAML, help="the prefect.yaml whose deployments to serve"
    )
    args = parser.parse_args()
    # schedules stay active when the dashboard stops: nothing runs while the server is down anyway
    serve(*runner_deployments(args.prefect_file), pause_on_shutdown=False, print_starting_message=True)


if __name__ == "__main__":
    main()
