"""The champion moves a person makes from a shell: `bilstm promote` (a version becomes champion, the champion
before it `previous-champion`) and `bilstm rollback` (`previous-champion` becomes champion again). Each is
checked first (an unknown model or version, nothing to roll back to: `RegistryInputError`, registry
untouched), then made under the promotion lock, as a run of the `bilstm-registry` experiment (the lock's
holder, and the audit trail), and appended to the champion's history (`tracking.champion_history`)."""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from bilstm.errors import BadInputError
from bilstm.job import Job
from tracking.champion_history import CHAMPION, PREVIOUS, champion_before, record_move
from tracking.promotion_lock import SUFFIX, promotion_lock
from tracking.runs import tracked_run
from tracking.store import use_tracking

REGISTRY_EXPERIMENT = "bilstm-registry"


class RegistryInputError(BadInputError):
    """A model, version or alias to move the champion to that the registry does not hold."""


@dataclass
class Move:
    action: str  # promote or rollback
    model_name: str
    champion_version: str  # after the move
    replaced_version: str | None  # the champion before it (None: there was none, or nothing changed)
    previous_champion_version: str | None  # the `previous-champion` alias after the move
    by: str
    at: str | None  # None: nothing changed
    run_id: str | None  # the `bilstm-registry` run that made the move


def promote_version(model_name: str, version: str, by: str) -> Move:
    """Make `version` the champion; the champion before it becomes `previous-champion`."""
    use_tracking(REGISTRY_EXPERIMENT)
    client = MlflowClient()
    _check_version(client, model_name, version)
    current = _alias(client, model_name, CHAMPION)
    if current == version:
        previous = _alias(client, model_name, PREVIOUS)
        return Move("promote", model_name, version, None, previous, by, None, None)
    if current is not None:
        _check_same_job(client, model_name, version, current)
    with tracked_run(f"promote {model_name} v{version}") as run:
        run_id = run.info.run_id
        with promotion_lock(client, model_name, run_id):
            current = _alias(client, model_name, CHAMPION)  # again, now that no one else can move it
            if current is not None and current != version:
                _check_same_job(client, model_name, version, current)
                client.set_registered_model_alias(model_name, PREVIOUS, current)
            client.set_registered_model_alias(model_name, CHAMPION, version)
            at = record_move(client, model_name, "promote", version, current, by)
        previous = _alias(client, model_name, PREVIOUS)
        move = Move("promote", model_name, version, current, previous, by, at, run_id)
        _tag_run(client, move)
    return move


def rollback(model_name: str, by: str) -> Move:
    """Make `previous-champion` the champion again. The version rolled back from is tagged as such; the new
    `previous-champion` is the version the restored one replaced when it was promoted, from the history
    (none if it does not say), so a second rollback goes one further step back, never forth."""
    use_tracking(REGISTRY_EXPERIMENT)
    client = MlflowClient()
    _check_model(client, model_name)
    _previous_or_refuse(client, model_name)
    with tracked_run(f"rollback {model_name}") as run:
        run_id = run.info.run_id
        with promotion_lock(client, model_name, run_id):
            restored = _previous_or_refuse(client, model_name)  # again: another move may have come first
            current = _alias(client, model_name, CHAMPION)
            client.set_registered_model_alias(model_name, CHAMPION, restored)
            before = champion_before(client, model_name, restored, rolled_back=current)
            if before is None:
                client.delete_registered_model_alias(model_name, PREVIOUS)
            else:
                client.set_registered_model_alias(model_name, PREVIOUS, before)
            at = record_move(client, model_name, "rollback", restored, current, by)
        move = Move("rollback", model_name, restored, current, before, by, at, run_id)
        _tag_run(client, move)
    return move


def _alias(client: MlflowClient, model_name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def _check_model(client: MlflowClient, model_name: str) -> None:
    try:
        client.get_registered_model(model_name)
    except MlflowException:
        names = sorted(m.name for m in client.search_registered_models() if not m.name.endswith(SUFFIX))
        known = ", ".join(names[:10]) if names else "none"
        raise RegistryInputError(
            f"--model {model_name}: no such registered model; registered models: {known}"
        ) from None


def _check_version(client: MlflowClient, model_name: str, version: str) -> None:
    _check_model(client, model_name)
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{model_name}'"))
    if not version.isdigit() or int(version) not in versions:
        shown = ", ".join(map(str, versions[-10:]))
        raise RegistryInputError(
            f"--version {version}: {model_name} has no such version; its versions: {shown}"
        )


def _previous_or_refuse(client: MlflowClient, model_name: str) -> str:
    previous = _alias(client, model_name, PREVIOUS)
    if previous is None:
        raise RegistryInputError(
            f"--model {model_name}: no previous-champion to roll back to; make a version champion with"
            f" `bilstm promote --model {model_name} --version N`"
        )
    return previous


def _check_same_job(client: MlflowClient, model_name: str, version: str, current: str) -> None:
    """Refuse a version that forecasts another job than the champion: forecasts from `@champion` would
    change meaning under their users."""
    differences = _job(client, model_name, version).differences(_job(client, model_name, current))
    if differences:
        raise RegistryInputError(
            f"--version {version}: v{version} of {model_name} forecasts another job than champion"
            f" v{current} ({'; '.join(differences[:3])}), so it cannot replace it"
        )


def _job(client: MlflowClient, model_name: str, version: str) -> Job:
    job = Job.from_tags(client.get_model_version(model_name, version).tags)
    if job is None:  # registered before jobs were tagged: read from its bundle, which needs torch
        from tracking.registry import champion_job

        job = champion_job(client, model_name, version)
    return job


def _tag_run(client: MlflowClient, move: Move) -> None:
    tags = {
        "action": move.action,
        "model_name": move.model_name,
        "champion_version": move.champion_version,
        "replaced_version": move.replaced_version or "",
        "by": move.by,
    }
    for key, value in tags.items():
        client.set_tag(move.run_id, key, value)
