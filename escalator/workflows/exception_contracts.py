"""The vocabulary of one exception: its detection, its states, its timeline, its status.

Types that cross the Temporal boundary and that the workflow's state is made of
(`escalator/workflows/escalation_state.py`), so they sit below both the state and
the workflow input that carries it (`escalator/workflows/contracts.py`, which
re-exports them). Plain pydantic only, free of I/O.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from escalator.policies.rules import RuleKind, Severity

__all__ = [
    "Contract",
    "Detection",
    "ExceptionState",
    "ExceptionStatus",
    "Routing",
    "StepKind",
    "TimelineStep",
    "dedupe_key",
]

# What routing decided for an exception (escalator/activities/routing.py); ``suppress``:
# a silence holds it.
Routing = Literal["page", "notify", "ticket", "suppress"]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


def dedupe_key(journey: str, rule: str, subject: str) -> str:
    """The workflow id: deterministic, readable in the Temporal UI."""
    return f"exc:{journey}:{rule}:{subject}"


class Detection(Contract):
    """What an upstream detector (or a script) says it found."""

    journey: str
    rule: str
    subject: str  # case id, or the window for aggregate rules
    onset: datetime  # when the condition became true, not when it was noticed
    detected_at: datetime | None = None  # default: now, at the client
    attributes: dict[str, str] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(default_factory=dict)  # latest evidence, shown to owners

    @property
    def workflow_id(self) -> str:
        return dedupe_key(self.journey, self.rule, self.subject)


class ExceptionState(StrEnum):
    OPEN = "open"  # raised, not yet acknowledged
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class StepKind(StrEnum):
    DETECTED = "detected"
    OCCURRED_AGAIN = "occurred_again"
    ROUTED = "routed"
    PLAYBOOK_STEP = "playbook_step"
    NOTIFIED = "notified"
    ESCALATED = "escalated"
    EXHAUSTED = "exhausted"
    ACKNOWLEDGED = "acknowledged"
    ACK_REVERTED = "ack_reverted"
    RESTORE_BREACHED = "restore_breached"
    SNOOZED = "snoozed"
    REASSIGNED = "reassigned"
    NOTE = "note"
    POLICY_APPLIED = "policy_applied"
    CONDITION_CLEARED = "condition_cleared"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    GROUPED = "grouped"  # joined a storm: told in the storm's one message, not paged alone
    HELD_DOWN = "held_down"  # reopened within the hold-down: recorded, not paged (yet)
    # A member's remaining notification steps, stopped: someone answered (or the member
    # was paged again, which lays their steps out anew).
    STEPS_STOPPED = "steps_stopped"


class TimelineStep(Contract):
    """One step of one exception: the natural key is (exception_id, run_id, seq).

    The timeline is itself an event log (case = exception_id, event = kind,
    timestamp = at, actor), so escalator can analyse its own process.
    """

    exception_id: str
    run_id: str
    seq: int
    kind: StepKind
    at: datetime
    actor: str | None = None
    level: int | None = None
    role: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ExceptionStatus(Contract):
    exception_id: str
    journey: str
    rule: str
    kind: RuleKind
    subject: str
    severity: Severity
    state: ExceptionState
    level: int  # 1-based; 0 before the first notification
    owner_role: str
    notified_roles: list[str] = Field(default_factory=list)
    occurrences: int = 1
    onset: datetime
    detected_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None
    resolution_real: bool | None = None  # False: a false alarm; None: not said
    ack_due: datetime | None = None
    restore_due: datetime | None = None
    snoozed_until: datetime | None = None
    routing: Routing | None = None
    routing_reason: str | None = None  # "paged: orderToShip burning 16x over 1h and 5m"
    policy_version: str
    exhausted: bool = False
    payload: dict[str, Any] = Field(default_factory=dict)
    timeline: list[TimelineStep] = Field(default_factory=list)
