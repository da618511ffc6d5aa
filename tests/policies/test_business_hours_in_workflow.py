"""business_hours runs inside the Temporal workflow sandbox (no clock, no I/O, deterministic)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from escalator.policies.business_hours import add_business_time, business_time_between, is_open
    from escalator.policies.calendars import Calendar

pytestmark = pytest.mark.temporal

CALENDAR = Calendar.model_validate(
    {
        "name": "office",
        "timezone": "Europe/Amsterdam",
        "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "closed_dates": ["2026-04-27"],
    }
)


@workflow.defn(sandboxed=True)
class BusinessClock:
    @workflow.run
    async def run(self, calendar_json: str, start_iso: str) -> list[str]:
        calendar = Calendar.model_validate_json(calendar_json)
        start = datetime.fromisoformat(start_iso)
        due = add_business_time(start, timedelta(hours=2), calendar)
        return [
            due.isoformat(),
            str(business_time_between(start, due, calendar)),
            str(is_open(start, calendar)),
        ]


async def test_business_hours_inside_a_sandboxed_workflow(client: Client, task_queue: str) -> None:
    async with Worker(client, task_queue=task_queue, workflows=[BusinessClock]):
        result = await client.execute_workflow(
            BusinessClock.run,
            args=[CALENDAR.model_dump_json(), "2026-03-27T16:00:00+01:00"],
            id=f"business-clock-{uuid.uuid4()}",
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=1),
        )
    # Fri 16:00 CET + 2 business hours: 1 h on Friday, 1 h on Monday after the clocks moved.
    assert result == ["2026-03-30T10:00:00+02:00", "2:00:00", "True"]
