"""Types of storm control that cross the Temporal boundary.

A storm is one `StormWorkflow` per (journey, rule, owner role), id
``storm:{journey}:{rule}:{role}``. Before its first page an exception asks it,
through the storm-gate activity (update-with-start), whether to page alone or
to join the storm; the storm sends the role one grouped message and keeps it
up to date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from policies.snapshot import ExceptionPolicy
from workflows.contracts import Contract

__all__ = [
    "ACTIVITY_STORM_GATE",
    "STORM_WORKFLOW",
    "StormGateInput",
    "StormInput",
    "StormMember",
    "StormMemberClosed",
    "StormRegistration",
    "StormState",
    "StormVerdict",
    "storm_id",
]

STORM_WORKFLOW = "StormWorkflow"
ACTIVITY_STORM_GATE = "escalator.storm_gate"


def storm_id(journey: str, rule: str, role: str) -> str:
    return f"storm:{journey}:{rule}:{role}"


class StormMember(Contract):
    exception_id: str
    subject: str
    onset: datetime
    detected_at: datetime


class StormRegistration(Contract):
    """An exception about to page its role for the first time."""

    member: StormMember


class StormVerdict(Contract):
    action: Literal["page", "grouped"]
    storm_id: str
    reason: str
    grouped: int = 0  # exceptions in the storm's message, this one included when grouped
    paged_in_window: int = 0  # individual first pages within the window, this one included


class StormMemberClosed(Contract):
    """Signal: a grouped exception was resolved (the grouped message counts it)."""

    exception_id: str
    at: datetime


class StormState(Contract):
    """Everything a storm carries over a continue-as-new."""

    paged: list[datetime] = Field(default_factory=list)  # individual first pages, recent
    verdicts: dict[str, StormVerdict] = Field(default_factory=dict)  # exception id -> answer
    members: list[StormMember] = Field(default_factory=list)
    resolved: list[str] = Field(default_factory=list)
    messages: dict[str, str] = Field(default_factory=dict)  # target key -> provider message id
    sent: int = 0  # grouped messages sent or updated (numbers idempotency keys)
    last_seen: datetime | None = None


class StormInput(Contract):
    journey: str
    rule: str
    role: str
    policy: ExceptionPolicy  # of the exception that started the storm: roles, channels, storm
    state: StormState = Field(default_factory=StormState)


class StormGateInput(Contract):
    """What the exception workflow hands the storm-gate activity."""

    storm: StormInput
    member: StormMember
