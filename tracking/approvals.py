"""A person's decision on a challenger under manual approval (`registry.approval: manual`), and its record on
the model version: tags `bilstm.approval.decision` (approved, rejected or timed-out), `bilstm.approval.by`,
`bilstm.approval.at` and `bilstm.approval.comment`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlflow import MlflowClient

APPROVAL_TAG = "bilstm.approval."


@dataclass(frozen=True)
class Decision:
    decision: Literal["approved", "rejected", "timed-out"]
    by: str | None  # the reviewer's name as entered in the form; None when nobody answered
    at: str  # UTC, ISO 8601: when the flow run received the answer, or gave up waiting
    comment: str = ""

    @property
    def approved(self) -> bool:
        return self.decision == "approved"

    def said(self) -> str:
        """`approved by alice at 2026-…Z (comment)`: the decision as the promotion reason starts."""
        if self.by is None:
            return f"no decision by {self.at}"
        return f"{self.decision} by {self.by} at {self.at}" + (f" ({self.comment})" if self.comment else "")


def tag_decision(model_name: str, version: str, decision: Decision) -> None:
    """Record the decision on the model version."""
    client = MlflowClient()
    tags = {"decision": decision.decision, "at": decision.at, "by": decision.by, "comment": decision.comment}
    for key, value in tags.items():
        if value:
            client.set_model_version_tag(model_name, version, APPROVAL_TAG + key, value)
