"""The history of a registered model's `champion` alias, kept in the registry itself: every move (by the gate,
an approval, `bilstm promote` or `bilstm rollback`) appends a registered-model tag
`bilstm.champion.history.NNNN` (JSON: at, action, champion, replaced, by) and tags the new champion with when,
by whom and how it became champion. Rollback reads it to find the champion before the one it restores."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous-champion"  # the registry's aliases
HISTORY_PREFIX = "bilstm.champion.history."
CHAMPION_TAG = "bilstm.champion."  # + at, by, action: the latest time a version became champion
ROLLBACK_TAG = "bilstm.rollback."  # + at, by: on a version a rollback took the alias from
PROMOTION_TAG = "promotion"  # on a version: the gate's outcome, promoted or not and why


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def history(client: MlflowClient, model_name: str) -> list[dict]:
    """The champion's moves, oldest first."""
    tags = client.get_registered_model(model_name).tags
    keys = sorted((key for key in tags if key.startswith(HISTORY_PREFIX)), key=_number)
    return [json.loads(tags[key]) for key in keys]


def _number(key: str) -> int:
    return int(key.removeprefix(HISTORY_PREFIX))


def record_move(
    client: MlflowClient, model_name: str, action: str, champion: str, replaced: str | None, by: str
) -> str:
    """Append a move of the champion alias to the history (call it under the promotion lock, which keeps
    the numbering unique) and tag the new champion; returns the time recorded."""
    at = utc_now()
    tags = client.get_registered_model(model_name).tags
    number = max((_number(key) for key in tags if key.startswith(HISTORY_PREFIX)), default=0) + 1
    entry = {"at": at, "action": action, "champion": champion, "replaced": replaced, "by": by}
    client.set_registered_model_tag(model_name, f"{HISTORY_PREFIX}{number:04d}", json.dumps(entry))
    for key, value in {"at": at, "by": by, "action": action}.items():
        client.set_model_version_tag(model_name, champion, CHAMPION_TAG + key, value)
    if action == "rollback" and replaced is not None:
        for key, value in {"at": at, "by": by}.items():
            client.set_model_version_tag(model_name, replaced, ROLLBACK_TAG + key, value)
    return at


def champion_before(client: MlflowClient, model_name: str, version: str, rolled_back: str) -> str | None:
    """The version that `version` replaced when it last became champion other than by a rollback: the
    `previous-champion` once a rollback restores `version`. None if the history does not say (a move made
    before histories were kept), names the version rolled back from, or names a deleted version."""
    for entry in reversed(history(client, model_name)):
        if entry["champion"] == version and entry["action"] != "rollback":
            before = entry["replaced"]
            if before in (None, rolled_back, version):
                return None
            try:
                client.get_model_version(model_name, before)
            except MlflowException:
                return None  # deleted since
            return before
    return None
