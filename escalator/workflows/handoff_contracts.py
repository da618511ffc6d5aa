"""What crosses the Temporal boundary for shift hand-off messages
(`escalator/workflows/handoff.py`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from escalator.policies.roles import OwnerRole
from escalator.workflows.exception_contracts import Contract

__all__ = [
    "ACTIVITY_NEXT_HANDOFF",
    "ACTIVITY_POST_HANDOFF",
    "HANDOFF_WORKFLOW",
    "RECHECK_EVERY",
    "ROLE_SIGNAL",
    "HandoffInput",
    "HandoffPosted",
    "HandoffStatus",
    "NextHandoff",
    "NextHandoffRequest",
    "PostHandoff",
    "RoleChanged",
    "handoff_workflow_id",
]

HANDOFF_WORKFLOW = "HandoffWorkflow"
ACTIVITY_NEXT_HANDOFF = "escalator.next_handoff"
ACTIVITY_POST_HANDOFF = "escalator.post_handoff"
ROLE_SIGNAL = "role_changed"
# The longest the workflow sleeps before it asks the records again: an override made
# meanwhile can bring a hand-off forward (one that starts in ten minutes), and the
# message for it should not wait for the hand-off the schedule alone foresaw.
RECHECK_EVERY = timedelta(minutes=30)


def handoff_workflow_id(role: str) -> str:
    return f"handoff:{role}"


class HandoffInput(Contract):
    """The role as the policies say when the worker started it (a snapshot: a later
    policy arrives by the ``role_changed`` signal); carried across continue-as-new."""

    role: OwnerRole
    policy_version: str = ""
    # Hand-offs up to this instant are announced (or were before this workflow existed):
    # the next one looked for comes after it. None: from the workflow's start.
    announced_until: datetime | None = None
    last_member: str | None = None  # who the last message named
    recheck_every: timedelta = RECHECK_EVERY


class RoleChanged(Contract):
    role: OwnerRole
    policy_version: str = ""


class NextHandoffRequest(Contract):
    role: OwnerRole
    after: datetime
    # The workflow's clock: of the hand-offs already due (a worker that was down), only
    # the latest is announced: the shift under way, not a burst of stale messages.
    now: datetime | None = None


class NextHandoff(Contract):
    """The instant after ``after`` where the member on call changes (schedule, overrides
    and vacations as the records say now): the latest one at or before ``now`` if any is
    due, else the first; None within the horizon."""

    at: datetime | None = None
    member: str | None = None  # who takes over then, as foreseen now


class PostHandoff(Contract):
    role: OwnerRole
    at: datetime  # the hand-off moment; who is on call is read again for it
    previous_member: str | None = None  # who the last message named
    policy_version: str = ""


class HandoffPosted(Contract):
    posted: bool
    member: str | None = None
    until: datetime | None = None
    text: str = ""
    skipped: str | None = None  # why nothing was posted
    error: str | None = None  # the channel refused the message for good


class HandoffStatus(Contract):
    role: str
    announced_until: datetime | None
    last_member: str | None
    next_at: datetime | None = None
