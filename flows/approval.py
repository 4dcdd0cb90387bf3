"""Manual approval of a challenger (`registry.approval: manual`): the flow run pauses with a typed form, a
Prefect `RunInput` whose description shows the challenger against the champion. A person answers it in the
Prefect UI (the paused run's Resume button) or through Prefect's API (`resume_flow_run(id, run_input=...)`).
Without an answer within the timeout the run resumes itself without one, and nothing is promoted."""

from __future__ import annotations

import contextvars
import threading
from datetime import datetime, timedelta, timezone

from prefect import get_run_logger, pause_flow_run
from prefect.client.orchestration import get_client
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Running
from pydantic import Field, ValidationError

from bilstm.gate import GateEvidence
from tracking.approvals import Decision
from tracking.champion_history import utc_now
from tracking.registry import Verdict

# Prefect fails a run whose pause outlives the pause's own timeout, but a run nobody decided on trained well
# and has its outcome (not promoted) to record: the run resumes itself at the approval deadline, and
# Prefect's pause timeout comes this much later, for a resume that was held up
PREFECT_PAUSE_GRACE_S = 120


class ApprovalForm(RunInput):
    """The Resume form of a paused training run."""

    approve: bool = Field(False, description="On: promote this version to champion. Off: reject it.")
    reviewer: str = Field(min_length=1, description="Your name, recorded on the model version")
    comment: str = Field("", description="Why (optional), recorded on the model version")


def approval_markdown(
    model_name: str, version: str, verdict: Verdict, evidence: GateEvidence, run_link: str, deadline: str
) -> str:
    """The form's description: the gate's verdict and the figures it compared, on the same windows."""
    champion = verdict.champion_version
    rows = [("challenger (this run)", f"v{version}", evidence.challenger)]
    if champion is not None and verdict.champion_score is not None:
        rows.append(("champion", f"v{champion}", verdict.champion_score))
    rows += [("persistence", "", evidence.naive), ("seasonal naive", "", evidence.seasonal_naive)]
    scaled = " (scaled)" if evidence.metric.endswith("_scaled") else ""
    return "\n".join(
        [
            f"## Promote v{version} of {model_name} to champion?",
            "",
            f"The gate says yes: {verdict.reason}.",
            "",
            f"| | version | {evidence.measure}{scaled} |",
            "|---|---|---|",
            *[f"| {label} | {shown} | {score:.4f} |" for label, shown, score in rows],
            "",
            f"[The challenger's MLflow run]({run_link}). "
            + ("No champion yet." if champion is None else f"The champion now is v{champion}."),
            "",
            "Turn **approve** on to promote it (off rejects it), enter your name and press **Resume**."
            f" Without an answer by {deadline} nothing is promoted. An approved version is compared again"
            " with the champion of that moment before it is promoted.",
        ]
    )


def ask_for_approval(
    model_name: str, version: str, verdict: Verdict, evidence: GateEvidence, run_link: str, timeout_s: int
) -> Decision:
    """Pause the flow run until a person approves or rejects `version`, or `timeout_s` seconds pass."""
    deadline = datetime.now(timezone.utc) + timedelta(seconds=timeout_s)
    shown_deadline = deadline.isoformat(timespec="seconds").replace("+00:00", "Z")
    description = approval_markdown(model_name, version, verdict, evidence, run_link, shown_deadline)
    form = ApprovalForm.with_initial_data(description=description, approve=False)
    get_run_logger().warning(
        "v%s of %s wins the gate and waits for approval until %s: open %s and press Resume",
        version,
        model_name,
        shown_deadline,
        flow_run.ui_url or f"flow run {flow_run.id} in the Prefect UI",
    )
    in_this_context = contextvars.copy_context().run  # the flow's Prefect settings (its API) for the timer
    deadline_resume = threading.Timer(timeout_s, in_this_context, args=(_resume_unanswered, flow_run.id))
    deadline_resume.daemon = True
    deadline_resume.start()
    try:
        answer = pause_flow_run(
            wait_for_input=form, timeout=timeout_s + PREFECT_PAUSE_GRACE_S, poll_interval=_poll_s(timeout_s)
        )
    except ValidationError:  # resumed without an answer (Prefect's API refuses one without a reviewer)
        return Decision("timed-out", None, utc_now())
    finally:
        deadline_resume.cancel()
    decision = "approved" if answer.approve else "rejected"
    return Decision(decision, answer.reviewer, utc_now(), answer.comment)


def _poll_s(timeout_s: int) -> int:
    """How often the paused run asks whether it was resumed: Prefect's 10 s, down to 1 s for short waits."""
    return max(1, min(10, timeout_s // 60))


def _resume_unanswered(flow_run_id: str) -> None:
    """At the approval deadline, move the still paused run on without an answer. A Resume pressed from then
    on is refused, as the run is no longer paused."""
    note = "no decision within registry.approval_timeout: going on without promoting"
    with get_client(sync_client=True) as client:
        if client.read_flow_run(flow_run_id).state.is_paused():
            client.set_flow_run_state(flow_run_id, Running(message=note))
