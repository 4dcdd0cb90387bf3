"""Serve the deployments of `prefect.yaml` from one process: schedules fire and UI "Run" buttons work.

`bilstm dashboard` runs this beside a Prefect server. It reads the same YAML that `prefect deploy` reads, so
the served and the work-pool deployments never drift apart; `--prefect-file` serves another such file.
"""

from __future__ import annotations

import argparse
import importlib
from datetime import timedelta
from pathlib import Path

import yaml
from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule

PREFECT_YAML = Path(__file__).with_name("prefect.yaml")


def load_flow(entrypoint: str) -> Flow:
    """`flows/train.py:train_flow` -> the flow object, imported as a module of the installed package."""
    path, name = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def schedule(entry: dict) -> Schedule:
    """One item of a deployment's `schedules:`: `cron` (with `timezone`, UTC by default) or `interval`
    (seconds), as `prefect deploy` reads them."""
    if "interval" in entry:
        return Interval(timedelta(seconds=entry["interval"]))
    return Cron(entry["cron"], timezone=entry.get("timezone", "UTC"))


def runner_deployments(prefect_file: Path = PREFECT_YAML) -> list[RunnerDeployment]:
    spec = yaml.safe_load(prefect_file.read_text())
    return [
        load_flow(entry["entrypoint"]).to_deployment(
            name=entry["name"],
            description=entry.get("description"),
            tags=entry.get("tags"),
            schedules=[schedule(s) for s in entry.get("schedules") or []],
            parameters=entry.get("parameters") or {},
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
