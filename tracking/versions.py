"""The registered version a model URI names (`models:/name@alias`, `models:/name/3`) and the job it
forecasts, found with MLflow's client alone (no torch, no Prefect): the forecast and monitor flows resolve
their model with it, and the CLI refuses an unknown model or alias, or a name without a champion, before a
flow starts. A name whose versions lost the gate says why the newest was not promoted and how to promote
it."""

from __future__ import annotations

import re

from mlflow import MlflowClient

from bilstm.errors import ForecastInputError
from bilstm.job import Job
from tracking.champion_history import CHAMPION, CHAMPION_TAG, PROMOTION_TAG
from tracking.refusals import refusals_as_bad_input
from tracking.store import store_creation_lock, use_tracking

_MODEL_URI = re.compile(r"models:/([^/@]+)(?:@([^/]+)|/(\d+))")  # models:/name@alias or models:/name/3


def registered_version(model_uri: str) -> tuple[str, str, str] | None:
    """(name, version, run id) of `models:/name@alias` or `models:/name/3`; None for another kind of URI (a
    run's model: no registered name). An unknown name, alias or version is refused as a
    `ForecastInputError` (a name without a `champion` says so)."""
    match = _MODEL_URI.fullmatch(model_uri)
    if match is None:
        return None
    name, alias, number = match.groups()
    client = MlflowClient()
    with refusals_as_bad_input(lambda message: unknown_model(model_uri, message)):
        client.get_registered_model(name)
    with refusals_as_bad_input(lambda message: _unknown_version(client, model_uri, name, alias, message)):
        version = (
            client.get_model_version_by_alias(name, alias)
            if alias
            else client.get_model_version(name, number)
        )
    return name, str(version.version), version.run_id


def registered_job(model_uri: str) -> tuple[tuple[str, str, str] | None, Job | None]:
    """In the tracking store the flows use: the version `model_uri` names (as `registered_version`, refusing
    the same) and the job tagged on it (None: a run's model, or a version registered before jobs were)."""
    with store_creation_lock(use_tracking(None)):  # a first command on a new store creates its tables
        found = registered_version(model_uri)
        if found is None:
            return None, None
        name, version, _ = found
        return found, Job.from_tags(MlflowClient().get_model_version(name, version).tags)


def _unknown_version(
    client: MlflowClient, model_uri: str, name: str, alias: str | None, message: str
) -> ForecastInputError:
    if alias == CHAMPION:
        return ForecastInputError(f"{model_uri}: {_without_champion(client, name)}")
    return unknown_model(model_uri, message)


def _without_champion(client: MlflowClient, name: str) -> str:
    """Why `name` has no champion and what to do: train one, or, where versions lost the gate, promote the
    newest by hand (the gate's reason is the version's `PROMOTION_TAG`)."""
    newest = client.search_model_versions(f"name='{name}'", max_results=1, order_by=["version_number DESC"])
    if not newest:
        return (
            f"{name} has no champion yet (no version has the alias 'champion'); train one with"
            f" `bilstm train --set registry.model_name={name}`, or pass --model models:/{name}/VERSION"
        )
    number = str(newest[0].version)
    tags = client.get_model_version(name, number).tags
    reason = tags.get(PROMOTION_TAG)
    lost = reason and f"{CHAMPION_TAG}at" not in tags  # the gate kept it out, and nothing moved it in since
    # the fix before the reason: a line cut at its end keeps the command
    return (
        f"{name} has no champion: its newest version v{number} {'was not promoted' if lost else 'is not'};"
        f" make it champion with `bilstm promote --model {name} --version {number}`, or pass --model"
        f" models:/{name}/{number}" + (f". The gate said: {reason}" if lost else "")
    )


def unknown_model(model_uri: str, message: str) -> ForecastInputError:
    """MLflow's refusal of `model_uri` as a `ForecastInputError` that says where to look."""
    return ForecastInputError(
        f"{model_uri}: {message.rstrip('.')}; see the Models page of the MLflow UI for names and aliases, or"
        " pass --model models:/NAME/VERSION"
    )
