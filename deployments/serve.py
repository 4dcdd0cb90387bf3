"""Serve the deployments of `prefect.yaml` from one process: schedules fire and UI "Run" buttons work.

`bilstm dashboard` runs this beside a Prefect server. It reads the same YAML that `prefect deploy` reads, so
the served and the work-pool deployments never drift apart. `--overrides FILE` (JSON, for tests) replaces a
deployment's schedule by an interval and its default parameters: {"nightly-retrain": {"interval": 20,
"parameters": {...}}}.
"""

from __future__ import annotations

import argparse
import importlib
import json
from datetime import timedelta
from pathlib import Path

import yaml
from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval

PREFECT_YAML = Path(__file__).with_name("prefect.yaml")


def load_flow(entrypoint: str) -> Flow:
    """`flows/train.py:train_flow` -> the flow object, imported as a module of the installed package."""
    path, name = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def runner_deployments(overrides: dict | None = None) -> list[RunnerDeployment]:
    overrides = overrides or {}
    spec = yaml.safe_load(PREFECT_YAML.read_text())
    deployments = []
    for entry in spec["deployments"]:
        override = overrides.get(entry["name"], {})
        if "interval" in override:
            schedules = [Interval(timedelta(seconds=override["interval"]))]
        else:
            crons = entry.get("schedules") or []
            schedules = [Cron(s["cron"], timezone=s.get("timezone", "UTC")) for s in crons]
        deployments.append(
            load_flow(entry["entrypoint"]).to_deployment(
                name=entry["name"],
                description=entry.get("description"),
                tags=entry.get("tags"),
                schedules=schedules,
                parameters=override.get("parameters", entry.get("parameters") or {}),
            )
        )
    return deployments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overrides", type=Path, help="JSON file of per-deployment test overrides")
    args = parser.parse_args()
    overrides = json.loads(args.overrides.read_text()) if args.overrides else {}
    # schedules stay active when the dashboard stops: nothing runs while the server is down anyway
    serve(*runner_deployments(overrides), pause_on_shutdown=False, print_starting_message=True)


if __name__ == "__main__":
    main()
