"""Temporal Schedules escalator owns: create-or-update one, delete the stale ones.

Shared by the digest schedules (one per role, `digest_schedules.py`) and the detection
schedules (one per journey, `detection_schedules.py`), which differ only in what they
schedule. Idempotent: the schedule id is the role's or journey's, so a second create
(another worker starting at the same moment, or a restart) fails with "already running"
and becomes an update to the same state.
"""

from __future__ import annotations

import contextlib

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

__all__ = ["delete_stale_schedules", "upsert_schedule"]


async def upsert_schedule(client: Client, schedule_id: str, schedule: Schedule) -> bool:
    """Create the schedule, or replace an existing one's spec, action and policy with
    ``schedule``; True when it was created."""
    try:
        # The memo is for people reading the schedule list; deletion goes by the id
        # prefix and the action, so schedules made before the memo existed still count.
        await client.create_schedule(schedule_id, schedule, memo={"created_by": "escalator"})
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=new)

        await client.get_schedule_handle(schedule_id).update(replace)
        return False
    return True


async def delete_stale_schedules(
    client: Client, *, prefix: str, wanted: set[str], workflow: str, task_queue: str
) -> list[str]:
    """Delete escalator's schedules (id ``prefix``, action a ``workflow`` on ``task_queue``)
    that are not ``wanted`` any more; the ids deleted. Any other schedule is left alone.

    Listing is a visibility query (eventually consistent): a schedule created a moment
    ago may be missing from it, which only delays its deletion to the next install.
    """
    stale = [
        listed.id
        async for listed in await client.list_schedules()
        if listed.id.startswith(prefix) and listed.id not in wanted
    ]
    deleted = []
    for sid in stale:
        handle = client.get_schedule_handle(sid)
        try:
            action = (await handle.describe()).schedule.action
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:  # another install deleted it first
                continue
            raise
        ours = isinstance(action, ScheduleActionStartWorkflow) and (
            action.workflow == workflow and action.task_queue == task_queue
        )
        if not ours:  # someone else's schedule that happens to share the prefix
            continue
        with contextlib.suppress(RPCError):  # deleted by a concurrent install: same outcome
            await handle.delete()
        deleted.append(sid)
    return deleted
