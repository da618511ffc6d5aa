"""What crosses the Temporal boundary for the per-role digest (see `escalator/workflows/digest.py`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from escalator.policies.calendars import Calendar
from escalator.policies.journeys import Journey
from escalator.workflows.contracts import Contract

__all__ = [
    "ACTIVITY_POST_DIGEST",
    "DIGEST_SCHEDULE_PREFIX",
    "DIGEST_WORKFLOW",
    "DigestRequest",
    "DigestResult",
    "digest_schedule_id",
]

DIGEST_WORKFLOW = "DigestWorkflow"
ACTIVITY_POST_DIGEST = "escalator.post_digest"


# Every digest schedule escalator creates has this id prefix (and a memo saying so): the
# install deletes only schedules with it whose action starts a DigestWorkflow.
DIGEST_SCHEDULE_PREFIX = "digest:"


def digest_schedule_id(role: str) -> str:
    return f"{DIGEST_SCHEDULE_PREFIX}{role}"


class DigestRequest(Contract):
    """Resolved when the schedule is installed: the schedule's action carries the snapshot."""

    role: str
    slack_channel: str | None = None
    journeys: list[Journey] = Field(default_factory=list)  # whose SLO status to show
    policy_version: str = ""
    as_of: datetime | None = None  # None: when the activity runs
    # The role's `digest.at` ("09:00") and its calendar as written in the policy (holidays
    # not expanded: the activity expands them for the day it runs, so a schedule installed
    # this year still knows next year's holidays). No calendar: every day is a digest day.
    at: str | None = None
    calendar: Calendar | None = None
    # A scheduled digest skips days that are not business days of the calendar; one asked
    # for by hand (`escalator digest run`) posts whatever the day.
    skip_closed_days: bool = True


class DigestResult(Contract):
    ok: bool
    tickets: int
    slo_lines: int
    channel: str
    target: str
    error: str | None = None
    text: str = ""
    # Set when the day is not a business day: "skipped: King's Day is a holiday in
    # nl-warehouse; next digest Tue 28 Apr 09:00 Europe/Amsterdam". Nothing was posted.
    skipped: str | None = None
    since: datetime | None = None  # the window start: the last digest that was due
