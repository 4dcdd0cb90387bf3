"""Manual approval (`registry.approval: manual`) end to end, on the test Prefect server and a real MLflow
SQLite store: a version that wins the gate pauses its flow run until a person answers the Resume form (here
through Prefect's API, from another thread, as the UI does), and becomes champion only once approved; a
rejection, no answer within the timeout, or a champion that changed meanwhile promote nothing; a version
that loses the gate never pauses. `bilstm promote` and `bilstm rollback` run as commands on the same store."""

import contextvars
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable

import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import NotPausedError
from prefect.flow_runs import resume_flow_run
from prefect.input import keyset_from_paused_state, read_flow_run_input

from flows.train import train_flow
from tests.bad_input_files import error_lines
from tests.helpers import BILSTM, tiny, tiny_args
from tracking.champion_moves import promote_version

NAME = "bilstm-forecaster"
UNTRAINED = {"model.highway": False, "model.instance_norm": "none", "train.lr": 1e-7, "train.epochs": 1}


def manual(config, **overrides):
    """Manual approval of a one-epoch job; a minute to decide, so the paused run looks for the answer every
    second (it looks every 10 s under the default day)."""
    settings = {"registry.approval": "manual", "registry.approval_timeout": 60, "train.epochs": 1}
    return tiny(config, **settings | overrides)


def paused_runs() -> dict[str, FlowRun]:
    only_paused = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    )
    with get_client(sync_client=True) as prefect:
        return {str(run.id): run for run in prefect.read_flow_runs(flow_run_filter=only_paused)}


class Reviewer:
    """Another thread (in this test's Prefect settings) that waits for the flow run to pause, reads its form,
    runs `meanwhile`, then answers with `answer` (None: never)."""

    def __init__(self, answer: dict | None, meanwhile: Callable[[], None] = lambda: None) -> None:
        self.answer, self.meanwhile = answer, meanwhile
        self.already_paused = set(paused_runs())
        self.flow_run_id: str | None = None
        self.form: str | None = None  # the form's description, as the UI shows it
        self.error: BaseException | None = None
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._review,), daemon=True)
        self._thread.start()

    def _review(self) -> None:
        try:
            run = self._paused_run()
            self.flow_run_id = str(run.id)
            self.form = read_flow_run_input(keyset_from_paused_state(run.state)["description"], run.id)
            self.meanwhile()
            if self.answer is not None:
                resume_flow_run(run.id, run_input=self.answer)
        except BaseException as error:  # noqa: BLE001 - reported in the test's thread by `done`
            self.error = error

    def _paused_run(self) -> FlowRun:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            new = [run for key, run in paused_runs().items() if key not in self.already_paused]
            if new:
                return new[0]
            time.sleep(0.5)
        raise TimeoutError("no flow run paused")

    def done(self) -> "Reviewer":
        self._thread.join(30)
        if self.error is not None:
            raise self.error
        return self


def states(flow_run_id: str) -> list[str]:
    with get_client(sync_client=True) as prefect:
        return [state.type.value for state in prefect.read_flow_run_states(flow_run_id)]


def test_a_winning_version_waits_for_approval_and_is_promoted_once_approved(tiny_config, tracking, bilstm):
    client = MlflowClient(tracking, registry_uri=tracking)
    # a version that loses the gate (it does not beat persistence) is not paused for: nothing to approve
    started = time.monotonic()
    loser = train_flow(manual(tiny_config, **UNTRAINED))
    assert not loser["promoted"] and "does not beat persistence" in loser["promotion_reason"]
    assert "PAUSED" not in states(loser["flow_run_id"]) and loser["approval"] is None
    assert time.monotonic() - started < 60  # it did not wait out the approval timeout
    promote_version(NAME, "1", by="ops")  # a person makes it champion anyway (as `bilstm promote` does)

    reviewer = Reviewer({"approve": True, "reviewer": "alice", "comment": "looks right"})
    summary = train_flow(manual(tiny_config))
    reviewer.done()

    # the form showed the challenger against the champion, on the same windows
    challenger, champion = summary["metrics"]["test_mse_scaled"], loser["metrics"]["test_mse_scaled"]
    assert f"## Promote v2 of {NAME} to champion?" in reviewer.form
    assert f"| challenger (this run) | v2 | {challenger:.4f} |" in reviewer.form
    assert f"| champion | v1 | {champion:.4f} |" in reviewer.form
    assert summary["flow_run_id"] == reviewer.flow_run_id
    assert summary["promoted"] and summary["champion_version"] == "2"
    assert summary["promotion_reason"].startswith("approved by alice at ")
    assert summary["approval"]["decision"] == "approved" and summary["approval"]["by"] == "alice"
    aliases = client.get_registered_model(NAME).aliases
    assert (str(aliases["champion"]), str(aliases["previous-champion"])) == ("2", "1")
    tags = client.get_model_version(NAME, "2").tags
    assert (tags["bilstm.approval.decision"], tags["bilstm.approval.by"]) == ("approved", "alice")
    assert tags["bilstm.approval.comment"] == "looks right" and tags["bilstm.approval.at"].endswith("Z")
    assert (tags["bilstm.champion.action"], tags["bilstm.champion.by"]) == ("approval", "alice")
    assert "PAUSED" in states(summary["flow_run_id"])
    with get_client(sync_client=True) as prefect:
        assert prefect.read_flow_run(summary["flow_run_id"]).state.is_completed()

    # the approved version turns out bad in production: roll back to the one before
    rolled = bilstm("rollback", "--model", NAME, "--by", "bob", "--json")
    assert rolled.returncode == 0, rolled.stderr[-3000:]
    move = json.loads(rolled.stdout.splitlines()[-1])
    assert (move["champion_version"], move["replaced_version"], move["by"]) == ("1", "2", "bob")
    assert str(client.get_registered_model(NAME).aliases["champion"]) == "1"
    assert client.get_model_version(NAME, "2").tags["bilstm.rollback.by"] == "bob"


def test_a_rejected_version_is_not_promoted_and_the_rejection_is_tagged(tiny_config, tracking):
    reviewer = Reviewer({"approve": False, "reviewer": "bob", "comment": "not before the audit"})
    summary = train_flow(manual(tiny_config))
    reviewer.done()

    assert "No champion yet." in reviewer.form
    assert not summary["promoted"] and summary["champion_version"] is None
    assert summary["promotion_reason"].startswith("rejected by bob at ")
    client = MlflowClient(tracking, registry_uri=tracking)
    assert "champion" not in client.get_registered_model(NAME).aliases
    tags = client.get_model_version(NAME, "1").tags
    assert (tags["bilstm.approval.decision"], tags["bilstm.approval.by"]) == ("rejected", "bob")
    assert tags["promotion"] == summary["promotion_reason"]
    assert client.get_run(summary["run_id"]).data.tags["promoted"] == "false"


def test_without_a_decision_within_the_timeout_nothing_is_promoted(tiny_config, tracking):
    reviewer = Reviewer(answer=None)
    summary = train_flow(manual(tiny_config, **{"registry.approval_timeout": 2}))
    reviewer.done()

    assert not summary["promoted"] and summary["approval"]["decision"] == "timed-out"
    assert summary["promotion_reason"].startswith("no decision within 2 s (registry.approval_timeout);")
    assert f"`bilstm promote --model {NAME} --version 1`" in summary["promotion_reason"]
    client = MlflowClient(tracking, registry_uri=tracking)
    assert "champion" not in client.get_registered_model(NAME).aliases
    assert client.get_model_version(NAME, "1").tags["bilstm.approval.decision"] == "timed-out"
    assert client.get_run(summary["run_id"]).info.status == "FINISHED"
    # the training succeeded: the run resumed itself and completed (Prefect would fail an expired pause),
    # and an answer that comes too late changes nothing
    with get_client(sync_client=True) as prefect:
        assert prefect.read_flow_run(summary["flow_run_id"]).state.is_completed()
    assert "PAUSED" in states(summary["flow_run_id"]) and "FAILED" not in states(summary["flow_run_id"])
    with pytest.raises(NotPausedError):
        resume_flow_run(summary["flow_run_id"], run_input={"approve": True, "reviewer": "late"})


def test_an_approval_stands_only_against_the_champion_it_was_given_for(tiny_config, tracking):
    """The lock is not held while a person decides: a champion can change meanwhile (here a copy of the
    challenger, promoted from a shell), and the approved version is compared again with it before it moves."""
    client = MlflowClient(tracking, registry_uri=tracking)

    def promote_a_copy() -> None:
        original = client.get_model_version(NAME, "1")
        copy = client.create_model_version(NAME, original.source, original.run_id, tags=original.tags)
        promote_version(NAME, str(copy.version), by="ops")

    reviewer = Reviewer({"approve": True, "reviewer": "carol"}, meanwhile=promote_a_copy)
    summary = train_flow(manual(tiny_config))
    reviewer.done()

    assert not summary["promoted"] and summary["champion_version"] == "2"
    reason = summary["promotion_reason"]
    assert (
        reason.startswith("approved by carol at ") and "the champion changed while waiting (now v2)" in reason
    )
    assert "does not beat the champion's" in reason  # an equal model does not beat it
    assert client.get_model_version(NAME, "1").tags["bilstm.approval.decision"] == "approved"
    assert str(client.get_registered_model(NAME).aliases["champion"]) == "2"


@pytest.mark.slow
def test_manual_approval_without_a_lasting_prefect_server_is_refused_before_training(synthetic_csv, tmp_path):
    """A command's temporary Prefect server has no UI, so nobody could answer the form."""
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    env["BILSTM_MALLOC_TUNING"] = "0"  # no re-exec with tuned malloc: half the start-up
    argv = [BILSTM, "train", "--data", synthetic_csv, *tiny_args(1), "--set", "registry.approval=manual"]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)

    assert result.returncode == 2, result.stderr[-3000:]
    assert error_lines(result.stderr) == [
        "registry.approval=manual needs a Prefect server whose UI a person opens to approve: set"
        " PREFECT_API_URL (`bilstm dashboard` serves one at http://127.0.0.1:4200/api) or run the train"
        " deployment from the dashboard"
    ]
    assert not (tmp_path / "mlflow.db").exists()  # refused before any run
