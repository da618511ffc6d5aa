"""Heartbeat monitors on a real Temporal server: a missed beat raises the heartbeat's
rule through the normal raise path (routing, escalation, pages); the next beat clears
it. Time is skipped past the deadline on the time-skipping server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import pytest
from harness import Harness
from policy_factory import JOURNEY, RULE, make_policy
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from escalator.policies.business_hours import add_business_time
from escalator.policies.calendars import WEEKDAYS, Calendar
from escalator.policies.heartbeats import heartbeat_subject
from escalator.workflows.contracts import ExceptionState, StepKind, dedupe_key
from escalator.workflows.heartbeat_contracts import (
    BEAT_SIGNAL,
    HEARTBEAT_WORKFLOW,
    Beat,
    HeartbeatInput,
    HeartbeatStatus,
    heartbeat_workflow_id,
)

pytestmark = pytest.mark.temporal


@contextlib.asynccontextmanager
async def monitor(
    h: Harness, every: timedelta, calendar: Calendar | None = None
) -> AsyncIterator[tuple[str, WorkflowHandle[None, None]]]:
    name = f"job-{uuid.uuid4().hex[:8]}"
    inp = HeartbeatInput(name=name, every=every, policy=make_policy(h.unit), calendar=calendar)
    handle = await h.client.start_workflow(
        HEARTBEAT_WORKFLOW, inp, id=heartbeat_workflow_id(name), task_queue=h.task_queue
    )
    h.started.add(dedupe_key(JOURNEY, RULE, heartbeat_subject(name)))  # closed by the harness
    try:
        yield name, handle
    finally:
        with contextlib.suppress(RPCError):  # a timer left behind would hold the clock
            await handle.terminate("test finished")


async def _status(handle: WorkflowHandle[None, None]) -> HeartbeatStatus:
    return await handle.query("status", result_type=HeartbeatStatus)


async def test_a_missed_beat_raises_and_the_next_beat_clears(harness: Harness) -> None:
    h = harness
    every = h.unit * 10
    async with monitor(h, every) as (name, handle):
        eid = dedupe_key(JOURNEY, RULE, heartbeat_subject(name))
        await handle.signal(BEAT_SIGNAL, Beat(source="test"))
        await h.advance(6)  # within `every`: nothing raised
        with pytest.raises(RPCError):
            await h.handle(eid).describe()
        await handle.signal(BEAT_SIGNAL, Beat(source="test"))
        await h.advance(6)  # 12 units since the first beat, 6 since the second: fine
        with pytest.raises(RPCError):
            await h.handle(eid).describe()

        await h.advance(5)  # 11 units since the last beat: missed
        status = await h.until(eid, lambda s: s.state == ExceptionState.OPEN, within=30)
        assert status.subject == heartbeat_subject(name)
        assert status.payload["heartbeat"] == name
        monitored = await _status(handle)
        assert monitored.missed and monitored.beats == 2
        # Through the normal escalation: the rule's owner is paged.
        pages = await h.pages_for(eid, "first")
        assert pages and pages[0].role == "inventory"

        await handle.signal(BEAT_SIGNAL, Beat(source="test"))  # the job runs again
        status = await h.until(eid, lambda s: s.state == ExceptionState.RESOLVED, within=30)
        cleared = [st for st in status.timeline if st.kind == StepKind.CONDITION_CLEARED]
        assert cleared and cleared[0].detail["reason"] == f"heartbeat {name} seen again"
        monitored = await _status(handle)
        assert not monitored.missed and monitored.beats == 3
        assert monitored.due == monitored.last_seen + every


async def test_business_hours_count_only_open_time(harness: Harness) -> None:
    h = harness
    now = (await h.env.get_current_time()).astimezone(UTC)
    today = WEEKDAYS[now.weekday()]
    # Open one hour a day, starting in two hours: a beat now is due an hour after opening.
    opens = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    if opens.date() != now.date() or opens.hour >= 23:
        pytest.skip("the clock is too close to midnight for a one-day calendar")
    calendar = Calendar.model_validate(
        {
            "name": "ops",
            "timezone": "UTC",
            "hours": {today: f"{opens:%H}:00-{opens.hour + 1:02d}:00"},
        }
    )
    async with monitor(h, timedelta(minutes=30), calendar) as (_name, handle):
        await handle.signal(BEAT_SIGNAL, Beat(source="test"))
        monitored = None
        for _ in range(100):
            monitored = await _status(handle)
            if monitored is not None and monitored.beats == 1:
                break
            await asyncio.sleep(0.05)
        assert monitored is not None and monitored.beats == 1
        assert monitored.due == add_business_time(
            monitored.last_seen, timedelta(minutes=30), calendar
        )
        assert monitored.due.astimezone(UTC) == opens + timedelta(minutes=30)
