"""What crosses the Temporal boundary for the per-role digest (see `workflows/digest.py`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from policies.journeys import Journey
from workflows.contracts import Contract

__all__ = [
    "ACTIVITY_POST_DIGEST",
    "DIGEST_WORKFLOW",
    "DigestRequest",
    "DigestResult",
    "digest_schedule_id",
]

DIGEST_WORKFLOW = "DigestWorkflow"
ACTIVITY_POST_DIGEST = "escalator.post_digest"


def digest_schedule_id(role: str) -> str:
    return f"digest:{role}"


class DigestRequest(Contract):
    """Resolved when the schedule is installed: the schedule's action carries the snapshot."""

    role: str
    slack_channel: str | None = None
    journeys: list[Journey] = Field(default_factory=list)  # whose SLO status to show
    policy_version: str = ""
    as_of: datetime | None = None  # None: when the activity runs


class DigestResult(Contract):
    ok: bool
    tickets: int
    slo_lines: int
    channel: str
    target: str
    error: str | None = None
    text: str = ""
