"""An exception raised outside business hours: the ack window starts when the calendar opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from harness import Harness, has, steps, subject
from policy_factory import detection, make_policy

from escalator.policies.calendars import WEEKDAYS, Calendar
from escalator.workflows.contracts import StepKind

pytestmark = pytest.mark.temporal


def closed_until(opens: datetime) -> Calendar:
    """A UTC calendar open only from ``opens`` (a whole hour) to the end of that day."""
    day = WEEKDAYS[opens.weekday()]
    return Calendar.model_validate(
        {"name": "office", "timezone": "UTC", "hours": {day: f"{opens:%H}:00-24:00"}}
    )


async def test_raised_outside_business_hours_waits_for_opening(harness: Harness) -> None:
    h = harness
    now = (await h.env.get_current_time()).astimezone(UTC)
    opens = (now + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    if opens.hour >= 21:  # keep at least three open hours in the day
        opens = (opens + timedelta(days=1)).replace(hour=9)
    policy = make_policy(h.unit, calendar=closed_until(opens), business_hours=True)

    eid = (await h.raise_(detection(subject()), policy)).exception_id
    status = await h.until(eid, has(StepKind.NOTIFIED))
    # The owner is told at once; the response time only counts once the calendar opens.
    assert [n.reason for n in h.pages(eid)] == ["first", "first"]
    assert status.ack_due == opens + h.unit * 3

    await h.advance(5)  # longer than the response time, but all of it closed
    status = await h.status(eid)
    assert status.level == 1 and not steps(status, StepKind.ESCALATED)

    if not h.env.supports_time_skipping:
        return  # the dev server runs in real time: hours away is too long to wait
    await h.env.sleep(opens - await h.env.get_current_time())  # the calendar opens
    status = await h.status(eid)
    assert status.level == 1
    await h.advance(3)
    status = await h.until(eid, has(StepKind.ESCALATED))
    escalated = steps(status, StepKind.ESCALATED)[0]
    assert opens + h.unit * 3 <= escalated.at <= opens + h.unit * 3 + h.slack
    await h.save_history(eid, "outside_business_hours")
