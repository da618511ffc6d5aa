"""Types of storm control that cross the Temporal boundary.

A storm is one `StormWorkflow` per (journey, rule, owner role), id
``storm:{journey}:{rule}:{role}``. Before its first page an exception asks it,
through the storm-gate activity (update-with-start), whether to page alone or
to join the storm; the storm sends the role one grouped message and keeps it
up to date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.contracts import Contract

__all__ = [
    "ACTIVITY_STORM_GATE",
    "MIN_RUN_EVENTS",
    "REGISTRATIONS_PER_RUN",
    "RUN_FULL",
    "SIGNAL_BATCH",
    "STORM_DELIVERY",
    "STORM_ESCALATION",
    "STORM_NOTIFY",
    "STORM_ONCALL",
    "STORM_OVER",
    "STORM_RUNS",
    "STORM_WORKFLOW",
    "MemberRouting",
    "StormAckInput",
    "StormAnswer",
    "StormEscalated",
    "StormGateInput",
    "StormInput",
    "StormMember",
    "StormMemberClosed",
    "StormRegistration",
    "StormResolveInput",
    "StormState",
    "StormVerdict",
    "storm_id",
]

STORM_WORKFLOW = "StormWorkflow"
ACTIVITY_STORM_GATE = "escalator.storm_gate"
# workflow.patched id: storms (and their members) escalate level by level and answer
# "acknowledge all" / "resolve all"; storms recorded before it keep the old loop on replay.
STORM_ESCALATION = "storm-escalation"
# workflow.patched id: notify-routed exceptions ask the storm too (they flood Slack just as
# pages would); exceptions recorded before it notify alone on replay.
STORM_NOTIFY = "storm-notify"
# workflow.patched id: a storm stays inside Temporal's per-run limits with thousands of
# members. It continues as new after REGISTRATIONS_PER_RUN registrations (Temporal takes
# at most 2,000 updates per run), or on the server's suggestion once the run has
# MIN_RUN_EVENTS events; it keeps no verdict per grouped member (the member list answers a
# retried registration; 5,000 verdicts would pass the 2 MB payload limit when carried); it
# signals its open members SIGNAL_BATCH at a time, each batch in its own workflow tasks
# (Temporal refuses more than 2,000 pending signals from one run).
STORM_RUNS = "storm-runs"
REGISTRATIONS_PER_RUN = 1500
# The refusal a full run gives a new registration (its validator): the gate waits and asks
# again, and the next run answers.
RUN_FULL = "StormRunFull"
# The refusal of a storm that is over: a late registration starts the next storm; an answer
# to it goes to its members one by one (escalator/receiver/storm_responses.py).
STORM_OVER = "StormOver"
MIN_RUN_EVENTS = 50
SIGNAL_BATCH = 500
# workflow.patched id: the grouped message goes out as one background ``deliver`` activity
# per target (escalator/workflows/delivery.py), with the guarantees of a single exception's page
# (heartbeat, retries until the provider answers, lookup before a re-post); storms recorded
# before it replay their one ``notify`` activity per update.
STORM_DELIVERY = "storm-delivery-per-target"
# workflow.patched id: the storm asks who is on call when a level starts (schedule plus the
# overrides and vacations in the records, the `resolve_on_call` activity a single exception
# asks); storms recorded before it read the schedule alone, overrides ignored.
STORM_ONCALL = "storm-oncall-resolved"


def storm_id(journey: str, rule: str, role: str) -> str:
    return f"storm:{journey}:{rule}:{role}"


# How a member was routed (escalator/workflows/escalation_routing.py): a notify-routed one asks the
# storm too (patch ``storm-notify``); ticket-routed ones interrupt nobody and never ask.
MemberRouting = Literal["page", "notify"]


class StormMember(Contract):
    exception_id: str
    subject: str
    onset: datetime
    detected_at: datetime
    # Registrations recorded before the storm-notify patch have no routing: they all paged.
    routing: MemberRouting = "page"


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


class StormEscalated(Contract):
    """Signal to each still-open member: the storm it belongs to was escalated (or exhausted).

    The member records the step in its own timeline (its records, its level, its search
    attributes) and lets the newly told role respond, as if it had escalated alone.
    """

    storm_id: str
    level: int
    role: str  # the role paged now (the incident-lead role for a broadcast)
    round: int = 0
    cause: str
    at: datetime
    exhausted: bool = False
    on_exhausted: str | None = None


class StormAckInput(Contract):
    """Update: someone takes the storm; its escalation stops."""

    actor: str
    via: str = "cli"


class StormResolveInput(Contract):
    """Update: someone resolves every open member (the caller then resolves each one)."""

    actor: str
    note: str = Field(min_length=1)
    via: str = "cli"


class StormAnswer(Contract):
    """What the storm says to acknowledge-all / resolve-all: the members left to answer."""

    message: str
    open_members: list[str] = Field(default_factory=list)


class StormState(Contract):
    """Everything a storm carries over a continue-as-new."""

    paged: list[datetime] = Field(default_factory=list)  # individual first pages, recent
    verdicts: dict[str, StormVerdict] = Field(default_factory=dict)  # exception id -> answer
    members: list[StormMember] = Field(default_factory=list)
    resolved: list[str] = Field(default_factory=list)
    messages: dict[str, str] = Field(default_factory=dict)  # target key -> provider message id
    sent: int = 0  # grouped messages sent or updated (numbers idempotency keys)
    last_seen: datetime | None = None
    # Escalation of the storm as a whole (storm-escalation patch); defaults keep old
    # histories' payloads valid.
    grouping: bool = False  # past the threshold: new exceptions join; False again once quiet
    level: int = 1
    round: int = 0  # completed passes through all levels (policy `repeat`)
    ack_due: datetime | None = None  # None: not paged yet, acknowledged, or nothing left to page
    notified_roles: list[str] = Field(default_factory=list)
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    exhausted: bool = False
    escalations: list[StormEscalated] = Field(default_factory=list)  # shown in the UI details
    # "notify" while every exception that asked this storm was routed notify: its message
    # stays on quiet channels and its response times are NOTIFY_FACTOR times longer. The
    # first page-routed one makes it "page" for good. None: nobody asked yet.
    routing: MemberRouting | None = None
    # Members joined since the message was last refreshed, when the run continued as new.
    pending: bool = False
    # Who was on call for each role paged, when its level started, and why (the
    # `resolve_on_call` answer, storm-oncall-resolved patch): re-pages and the UI use it.
    on_call: dict[str, dict[str, Any]] = Field(default_factory=dict)


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
