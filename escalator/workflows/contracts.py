"""Types that cross the Temporal boundary: workflow input, signals, updates, queries,
and the timeline steps the workflow hands to the records activity.

Every signal, update and query takes ONE model, so fields can be added later
without breaking running workflows. Plain pydantic only: this module is
imported by detectors, activities and records, and must stay free of I/O.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from escalator.policies.rules import RuleKind, Severity
from escalator.policies.snapshot import ExceptionPolicy

__all__ = [
    "ESCALATION_WORKFLOW",
    "AcknowledgeInput",
    "AddNoteInput",
    "ApplyPolicyInput",
    "CarriedState",
    "ConditionCleared",
    "Detection",
    "EscalateNowInput",
    "EscalationInput",
    "ExceptionState",
    "ExceptionStatus",
    "OccurredAgain",
    "ReassignInput",
    "ResolveInput",
    "SnoozeInput",
    "StepKind",
    "TimelineStep",
    "UpdateResult",
    "dedupe_key",
]

ESCALATION_WORKFLOW = "EscalationWorkflow"


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


class EscalationInput(Contract):
    detection: Detection
    policy: ExceptionPolicy  # the resolved snapshot the workflow runs with
    reopened_from: str | None = None  # run id of the resolved run this one reopens
    rework_count: int = 0
    previous_resolved_at: datetime | None = None  # when the run it reopens was resolved
    # An open exception continues as new after this many history events (or earlier, when
    # the server suggests it): far below Temporal's 50k-event termination, and small enough
    # that replaying a run after a worker restart stays cheap.
    history_limit: int = Field(default=2000, ge=50)
    carried: CarriedState | None = None  # set only when an open exception continued as new
    # A reopened run: the detections that arrived within the reopen window (patch
    # ``reopen-counts-all``); ``detection`` is the first of them, ``last_detection`` the latest.
    occurrences: int = Field(default=1, ge=1)
    last_detection: Detection | None = None


class CarriedState(Contract):
    """Everything an open exception needs to go on in a new run (continue-as-new).

    ``run_id`` is the records run: the run that detected the exception. Steps and
    idempotency keys keep using it, and ``seq`` goes on from ``seq``, so the
    records and the analytics see one exception, however many runs it took.
    """

    run_id: str
    detected_at: datetime
    seq: int  # the last step's seq; the next run's first step is seq + 1
    state: ExceptionState
    level: int
    round: int
    level_started_at: datetime | None = None
    role_override: str | None = None
    notified_roles: list[str] = Field(default_factory=list)
    occurrences: int = 1
    last_detection: Detection | None = None
    seen: list[str] = Field(default_factory=list)  # detection fingerprints (occurrence-once)
    payload: dict[str, Any] = Field(default_factory=dict)
    routing: str | None = None
    routing_reason: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    last_progress_at: datetime | None = None
    ack_due: datetime | None = None
    restore_due: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    snoozed_from: ExceptionState | None = None
    exhausted: bool = False
    messages: dict[str, str] = Field(default_factory=dict)  # so updates stay in place
    notify_count: int = 0  # so idempotency keys never repeat
    timeline: list[TimelineStep] = Field(default_factory=list)  # the first and the latest
    unrecorded: list[TimelineStep] = Field(default_factory=list)  # all of them
    # Responses not handled yet: normally none, the run handles them before it continues.
    inbox: list[tuple[str, str | None]] = Field(default_factory=list)
    routing_v2: bool = True
    headline: str = ""
    storm_id: str | None = None
    # Still held by a silence before its first page: the routing decision holding it (a
    # RoutingDecision, as JSON: that contract lives with the activities) and the silence
    # already recorded. The next run goes on holding, then pages as the first run would.
    held: dict[str, Any] | None = None
    holding: str | None = None
    runs: int = 1  # how many runs this exception has continued through


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


# --- owner responses (updates; validators refuse with a human-readable reason) ---


class AcknowledgeInput(Contract):
    actor: str  # member name from the policy (Slack/SMS map their users to it)
    via: str = "cli"  # slack | sms | cli | api


class ResolveInput(Contract):
    actor: str
    note: str = Field(min_length=1)
    cause: str | None = None
    via: str = "cli"


class ReassignInput(Contract):
    actor: str
    role: str
    via: str = "cli"


class SnoozeInput(Contract):
    actor: str
    until: datetime
    via: str = "cli"


class EscalateNowInput(Contract):
    actor: str
    via: str = "cli"


class AddNoteInput(Contract):
    actor: str
    note: str = Field(min_length=1)
    via: str = "cli"


class ApplyPolicyInput(Contract):
    actor: str
    policy: ExceptionPolicy


class UpdateResult(Contract):
    state: ExceptionState
    message: str


# --- signals ---


class ConditionCleared(Contract):
    at: datetime
    reason: str = "condition cleared by detector"


class OccurredAgain(Contract):
    detection: Detection
    # Should it reopen a resolved exception: the policy and history limit to reopen with.
    # Without them the run's own (its latest applied policy, its history limit) are used.
    policy: ExceptionPolicy | None = None
    history_limit: int | None = Field(default=None, ge=50)


# --- query ---


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
    ack_due: datetime | None = None
    restore_due: datetime | None = None
    snoozed_until: datetime | None = None
    routing: str | None = None
    routing_reason: str | None = None  # "paged: orderToShip burning 16x over 1h and 5m"
    policy_version: str
    exhausted: bool = False
    payload: dict[str, Any] = Field(default_factory=dict)
    timeline: list[TimelineStep] = Field(default_factory=list)


# EscalationInput names CarriedState (and it TimelineStep) before they are defined.
CarriedState.model_rebuild()
EscalationInput.model_rebuild()
