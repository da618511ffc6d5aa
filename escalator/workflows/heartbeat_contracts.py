"""What crosses the Temporal boundary for heartbeat monitors (`escalator/workflows/heartbeat.py`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from escalator.policies.calendars import Calendar
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.contracts import Contract

__all__ = [
    "ACTIVITY_HEARTBEAT_MISSED",
    "ACTIVITY_HEARTBEAT_SEEN",
    "BEAT_SIGNAL",
    "HEARTBEAT_WORKFLOW",
    "Beat",
    "HeartbeatInput",
    "HeartbeatMissed",
    "HeartbeatSeen",
    "HeartbeatStatus",
    "heartbeat_workflow_id",
]

HEARTBEAT_WORKFLOW = "HeartbeatWorkflow"
BEAT_SIGNAL = "beat"
ACTIVITY_HEARTBEAT_MISSED = "escalator.heartbeat_missed"
ACTIVITY_HEARTBEAT_SEEN = "escalator.heartbeat_seen"


def heartbeat_workflow_id(name: str) -> str:
    return f"heartbeat:{name}"


class HeartbeatInput(Contract):
    """Resolved outside the workflow: the rule's policy snapshot and the calendar (holidays
    expanded), so the workflow needs no I/O. Carried across continue-as-new."""

    name: str
    every: timedelta
    policy: ExceptionPolicy  # the rule a missed beat raises
    calendar: Calendar | None = None  # count `every` in its open hours
    last_seen: datetime | None = None  # None: from the monitor's start
    missed: bool = False  # an exception is raised and not yet cleared
    beats: int = 0


class Beat(Contract):
    source: str = "http"  # who beat: http (POST /heartbeats/NAME), a journey's events, ...


class HeartbeatStatus(Contract):
    name: str
    last_seen: datetime
    due: datetime
    missed: bool
    beats: int


class HeartbeatMissed(Contract):
    name: str
    policy: ExceptionPolicy
    last_seen: datetime
    due: datetime
    every: timedelta


class HeartbeatSeen(Contract):
    name: str
    journey: str
    rule: str
    at: datetime
