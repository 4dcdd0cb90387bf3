"""`bilstm promote` and `bilstm rollback` as functions, on a real MLflow SQLite store with versions registered
directly (no training): the previous champion becomes `previous-champion`, every move is kept in the
registered model's history tags, a rollback walks one step back at a time, and a version of another job is
refused; a name without a champion says why its newest version lost and how to promote it. (The bad-input
catalogue runs the commands' other refusals.)"""

import json

import mlflow
import pytest
from mlflow import MlflowClient

from bilstm.errors import ForecastInputError
from bilstm.job import Job
from tracking.champion_history import HISTORY_PREFIX, PROMOTION_TAG, history
from tracking.champion_moves import RegistryInputError, promote_version, rollback
from tracking.versions import registered_job

JOB = Job.of("series", "timestamp", ["x", "y"], ["y"], 12, "h")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One MLflow SQLite store for the module (creating one takes seconds), MLflow's URIs restored after."""
    folder = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.chdir(folder)  # where the audit runs' artifact folders would go
        yield MlflowClient(uri, registry_uri=uri)
    mlflow.set_tracking_uri(before[0])
    mlflow.set_registry_uri(before[1])


@pytest.fixture
def name(client, request) -> str:
    """A registered model of this test's own, with versions 1-3 of one job (tagged as training tags them)."""
    name = f"model-{request.node.name}".translate(str.maketrans("[] ()", "-----"))
    client.create_registered_model(name)
    for _ in range(3):
        client.create_model_version(name, source=f"{name}/model", tags=JOB.to_tags())
    return name


def aliases(client: MlflowClient, name: str) -> dict[str, str]:
    return {alias: str(version) for alias, version in client.get_registered_model(name).aliases.items()}


def test_a_promoted_version_replaces_the_champion_which_becomes_previous_champion(client, name):
    promote_version(name, "1", by="ops")
    move = promote_version(name, "3", by="alice")

    assert aliases(client, name) == {"champion": "3", "previous-champion": "1"}
    assert (move.champion_version, move.replaced_version, move.previous_champion_version) == ("3", "1", "1")
    assert [(e["action"], e["champion"], e["replaced"], e["by"]) for e in history(client, name)] == [
        ("promote", "1", None, "ops"),
        ("promote", "3", "1", "alice"),
    ]
    tags = client.get_model_version(name, "3").tags
    assert (tags["bilstm.champion.by"], tags["bilstm.champion.action"]) == ("alice", "promote")
    assert tags["bilstm.champion.at"] == move.at
    # each move is a run of the audit experiment, which held the promotion lock
    run = client.get_run(move.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["by"] == "alice"
    assert run.data.tags["action"] == "promote" and run.data.tags["replaced_version"] == "1"


def test_promoting_the_champion_again_changes_nothing(client, name):
    promote_version(name, "2", by="ops")
    move = promote_version(name, "2", by="ops")

    assert move.at is None and move.run_id is None
    assert aliases(client, name) == {"champion": "2"} and len(history(client, name)) == 1


def test_rollbacks_walk_back_one_champion_at_a_time_and_keep_the_history(client, name):
    for version in ("1", "2", "3"):
        promote_version(name, version, by="ops")

    first = rollback(name, by="bob")
    assert aliases(client, name) == {"champion": "2", "previous-champion": "1"}
    assert (first.champion_version, first.replaced_version, first.previous_champion_version) == (
        "2",
        "3",
        "1",
    )
    rolled_back = client.get_model_version(name, "3").tags
    assert rolled_back["bilstm.rollback.by"] == "bob" and rolled_back["bilstm.rollback.at"] == first.at

    second = rollback(name, by="bob")
    assert aliases(client, name) == {"champion": "1"}  # v1 had no champion before it: nothing further back
    assert second.previous_champion_version is None

    with pytest.raises(RegistryInputError, match=f"--model {name}: no previous-champion to roll back to"):
        rollback(name, by="bob")
    tags = client.get_registered_model(name).tags
    moves = [json.loads(tags[key]) for key in sorted(k for k in tags if k.startswith(HISTORY_PREFIX))]
    assert [(m["action"], m["champion"], m["replaced"]) for m in moves] == [
        ("promote", "1", None),
        ("promote", "2", "1"),
        ("promote", "3", "2"),
        ("rollback", "2", "3"),
        ("rollback", "1", "2"),
    ]


def test_a_version_of_another_job_cannot_replace_the_champion(client, name):
    other = Job.of("series", "timestamp", ["x", "y"], ["y"], 24, "h")
    client.create_model_version(name, source=f"{name}/model", tags=other.to_tags())
    promote_version(name, "1", by="ops")

    with pytest.raises(
        RegistryInputError, match=r"--version 4: v4 of .* another job than champion v1 \(horizon 24 vs 12\)"
    ):
        promote_version(name, "4", by="ops")
    assert aliases(client, name) == {"champion": "1"}


def test_without_a_champion_the_refusal_says_why_the_newest_version_lost_and_the_promote_that_fixes_it(
    client, name
):
    client.set_model_version_tag(name, "3", PROMOTION_TAG, "test MSE 0.5000 does not beat persistence 0.4000")
    uri = f"models:/{name}@champion"
    with pytest.raises(ForecastInputError) as refused:
        registered_job(uri)
    assert str(refused.value) == (
        f"{uri}: {name} has no champion: its newest version v3 was not promoted; make it champion with"
        f" `bilstm promote --model {name} --version 3`, or pass --model models:/{name}/3. The gate said:"
        " test MSE 0.5000 does not beat persistence 0.4000"
    )
    promote_version(name, "3", by="alice")  # what the message says to run
    assert registered_job(uri) == ((name, "3", None), JOB)
