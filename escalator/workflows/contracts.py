"""Types that cross the Temporal boundary: workflow input, signals, updates, queries,
and the timeline steps the workflow hands to the records activity.

Every signal, update and query takes ONE model, so fields can be added later
without breaking running workflows. Plain pydantic only: this module is
imported by detectors, activities and records, and must stay free of I/O.
The exception's own vocabulary (detection, states, timeline, status) lives in
`escalator/workflows/exception_contracts.py`, what continue-as-new carries in
`escalator/workflows/carried.py`; both are re-exported here.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.carried import CarriedState
from escalator.workflows.exception_contracts import (
    Contract,
    Detection,
    ExceptionState,
    ExceptionStatus,
    Routing,
    StepKind,
    TimelineStep,
    dedupe_key,
)

__all__ = [
    "ESCALATION_WORKFLOW",
    "AcknowledgeInput",
    "AddNoteInput",
    "ApplyPolicyInput",
    "CarriedState",
    "ConditionCleared",
    "Contract",
    "Detection",
    "EscalateNowInput",
    "EscalationInput",
    "ExceptionState",
    "ExceptionStatus",
    "OccurredAgain",
    "ReassignInput",
    "ResolveInput",
    "Routing",
    "SnoozeInput",
    "StepKind",
    "TimelineStep",
    "UpdateResult",
    "dedupe_key",
]

ESCALATION_WORKFLOW = "EscalationWorkflow"


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


# --- owner responses (updates; validators refuse with a human-readable reason) ---


class AcknowledgeInput(Contract):
    actor: str  # member name from the policy (Slack/SMS map their users to it)
    via: str = "cli"  # slack | sms | cli | api


class ResolveInput(Contract):
    actor: str
    note: str = Field(min_length=1)
    cause: str | None = None  # a cause code, e.g. stock_sync
    via: str = "cli"
    # The learning loop: was the exception real? False: a false alarm; None: not said.
    # Optional, so updates in histories written before it replay unchanged.
    real: bool | None = None


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
