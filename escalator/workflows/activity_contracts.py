"""Inputs and results of the activities the EscalationWorkflow calls.

They cross the Temporal boundary, so they live beside the workflow (which may
import only `policies` and its own contracts); `escalator/activities/` implements them.
Activities are called by name, so the workflow never imports activity code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from escalator.policies.playbooks import PlaybookStep
from escalator.policies.roles import Channel, OwnerRole
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.contracts import (
    Contract,
    Detection,
    EscalationInput,
    ExceptionState,
    ExceptionStatus,
    Routing,
    TimelineStep,
)

__all__ = [
    "ACTIVITY_DELIVER",
    "ACTIVITY_NOTIFY",
    "ACTIVITY_PLAYBOOK_ACTION",
    "ACTIVITY_RECHECK",
    "ACTIVITY_RECORD_STEPS",
    "ACTIVITY_RESOLVE_ON_CALL",
    "ACTIVITY_ROUTE",
    "ActionResult",
    "Delivery",
    "DetectionOutcome",
    "DetectionOutcomeKind",
    "Notification",
    "NotificationReason",
    "NotifyRequest",
    "NotifyResult",
    "OnCallAnswer",
    "OnCallInput",
    "PlaybookActionInput",
    "RecheckInput",
    "RecheckResult",
    "RecordStepsInput",
    "ReportDetection",
    "RoutingDecision",
    "RoutingInput",
]

ACTIVITY_RECORD_STEPS = "escalator.record_steps"
ACTIVITY_ROUTE = "escalator.decide_routing"
ACTIVITY_RESOLVE_ON_CALL = "escalator.resolve_on_call"  # schedule + overrides, at a level's start
ACTIVITY_NOTIFY = "escalator.notify"  # a level's targets in one call (histories before per-target)
ACTIVITY_DELIVER = "escalator.deliver"  # one notification to one target, heartbeating
ACTIVITY_PLAYBOOK_ACTION = "escalator.run_playbook_action"
ACTIVITY_RECHECK = "escalator.recheck_condition"

# Why a message goes out; channels render each differently.
NotificationReason = Literal[
    "first",  # level 1, first page
    "escalated",  # the next level is paged because the previous did not respond
    "informed",  # an earlier role is kept in the loop (an update, not a page)
    "reminder",  # the same role again: snooze ended, time-to-restore passed
    "reverted",  # an acknowledgement lapsed without progress
    "reassigned",  # a responder handed the exception to this role
    "broadcast",  # all levels exhausted: the incident-lead role is told
    "repeat",  # all levels exhausted, the policy repeats from level 1
    "update",  # state changed (acknowledged, snoozed...): refresh earlier messages
    "resolved",
    "ticket",  # routing chose a ticket instead of a page
    "notify",  # routing chose a non-paging notification
    "digest",  # the role's daily digest (tickets, SLO status); not an exception
    "storm",  # one grouped message for many exceptions of one rule (storm control)
    "handoff",  # a shift hand-off in the role's channel; not an exception
]


# --- channels ---


class Notification(Contract):
    """One message to one target on one channel."""

    exception_id: str
    idempotency_key: str  # workflow id / run id / notification step / channel / target
    level: int
    role: str
    channel: Channel
    target: str  # Slack channel, Slack user id, phone number or (console) member name
    member: str | None = None  # the person targeted, when the target is a person
    reason: NotificationReason
    status: ExceptionStatus  # what to render
    replaces: str | None = None  # provider message id to update in place, if any
    # What a state-change notification reports (acknowledged, snoozed, reassigned,
    # resolved): a webhook's ``event``. None: the reason says it (runs before webhook-updates).
    # Left out of the payload when None, so a worker from before this field (extra fields
    # forbidden) still takes every other notification during a rolling upgrade.
    event: str | None = Field(default=None, exclude_if=lambda v: v is None)
    run_id: str | None = None  # the run that sent it (None in histories before per-target)
    # Set by the deliver activity, not by the workflow: the attempt the sender is making
    # (a retry looks for the message at the provider before it posts again) and when the
    # first attempt was scheduled (the provider's list is searched from there).
    attempt: int = 1
    scheduled_at: datetime | None = None


class Delivery(Contract):
    ok: bool
    channel: Channel
    target: str
    provider_message_id: str | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None  # seconds the provider asked to wait (429 Retry-After)
    attempts: int = 1  # the attempt that gave this answer
    found_at_provider: bool = False  # a retry found the message already posted


class NotifyRequest(Contract):
    notifications: list[Notification] = Field(min_length=1)


class NotifyResult(Contract):
    deliveries: list[Delivery]


# --- records ---


class RecordStepsInput(Contract):
    steps: list[TimelineStep] = Field(min_length=1)


# --- routing ---


class RoutingInput(Contract):
    exception_id: str
    detection: Detection
    policy: ExceptionPolicy
    at: datetime | None = None  # workflow time of the decision (None: the activity's clock)


class RoutingDecision(Contract):
    """What the routing activity decided, with everything it was decided on.

    ``suppress`` holds the exception (a silence matched): the workflow asks again
    at ``recheck_at``. ``deliver_at`` delays delivery until support hours start.
    """

    action: Routing = "page"
    reason: str = "default: page"
    headline: str = ""  # "paged: orderToShip burning 16x over 1h and 5m"
    deliver_at: datetime | None = None
    recheck_at: datetime | None = None
    silence_id: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)


# --- who is on call ---


class OnCallInput(Contract):
    role: OwnerRole  # from the run's policy snapshot: the schedule the exception started with
    at: datetime  # workflow time of the level's start


class OnCallAnswer(Contract):
    """Who of the role is on call at ``at``, and why (layer, override, vacation)."""

    role: str
    member: str | None  # None: a declared gap (the role's first member is reached)
    why: str
    layer: str | None = None
    override: str | None = None
    skipped: list[str] = Field(default_factory=list)  # away, passed over
    # Who made the override that decided (histories recorded before it lack the field).
    override_by: str | None = None
    timezone: str | None = None  # the layer's zone: where "night" is for this member


# --- playbook ---


class PlaybookActionInput(Contract):
    exception_id: str
    detection: Detection
    step: PlaybookStep


class ActionResult(Contract):
    ok: bool
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class RecheckInput(Contract):
    exception_id: str
    detection: Detection
    after_step: str


class RecheckResult(Contract):
    cleared: bool
    detail: str = ""


# --- detections reported to a running exception (the update used by raise_exception) ---


class ReportDetection(Contract):
    """A detection for an exception that may already be running.

    ``start`` is what the client would start a new run with; the running
    workflow uses its policy when a detection reopens a resolved exception.
    """

    start: EscalationInput


# What a detection did to its exception: started it, counted as another occurrence of the
# open one, or reopened the resolved one.
DetectionOutcomeKind = Literal["new", "duplicate", "reopened"]


class DetectionOutcome(Contract):
    exception_id: str
    outcome: DetectionOutcomeKind
    state: ExceptionState
    occurrences: int
