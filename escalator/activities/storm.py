"""The storm-gate activity: asks the rule's StormWorkflow whether to page or to group.

Update-with-start on ``storm:{journey}:{rule}:{role}`` (``USE_EXISTING``): the
first exception of a quiet rule starts the storm workflow, every later one
registers with the running one. The storm workflow decides, so 500 exceptions
asking at once get consistent answers (updates on one workflow are serial).
A workflow cannot start another one by id with update-with-start, which is why
this is an activity; its client is the worker's own.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from escalator.activities.notify import heartbeating
from escalator.client import with_pydantic
from escalator.temporal_errors import update_busy
from escalator.workflows.storm_contracts import (
    ACTIVITY_STORM_GATE,
    RUN_FULL,
    STORM_WORKFLOW,
    StormGateInput,
    StormRegistration,
    StormState,
    StormVerdict,
    storm_id,
)

__all__ = ["IN_FLIGHT", "StormActivities", "ask_storm"]

# Temporal admits 10 updates in flight per workflow and refuses the 11th (RESOURCE_EXHAUSTED);
# 5,000 exceptions asking at once (up to 100 gate activities per worker) kept the storm at
# that limit, and the churn of refused, aborted and re-delivered updates left the storm's
# workflow task failed (see docs/storm.md). So each worker process asks one storm at most
# IN_FLIGHT at a time, and a refusal for being busy is waited out here, not counted as one of
# the activity's few attempts (after which the exception would page alone).
IN_FLIGHT = 4
BUSY_WAIT = 240.0  # seconds of busy refusals waited out, inside the activity's 5 minutes
# A storm's workflow task replays its run after an eviction: thousands of updates took more
# than the default 10 s on a loaded 2-core worker, and the task timed out again and again.
STORM_TASK_TIMEOUT = timedelta(seconds=60)
# Per event loop (a semaphore belongs to the loop it first waited in), then per storm id.
_asking: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


async def ask_storm(client: Client, task_queue: str, inp: StormGateInput) -> StormVerdict:
    storm = inp.storm
    sid = storm_id(storm.journey, storm.rule, storm.role)
    per_loop = _asking.setdefault(asyncio.get_running_loop(), {})
    gate = per_loop.setdefault(sid, asyncio.Semaphore(IN_FLIGHT))
    busy, waited_until = 0, asyncio.get_running_loop().time() + BUSY_WAIT
    while True:
        # An operation is used once: a new one for each try.
        start: WithStartWorkflowOperation[Any, StormState] = WithStartWorkflowOperation(
            STORM_WORKFLOW,
            storm,
            id=sid,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=task_queue,
            static_summary=f"Storm control: {storm.rule} ({storm.journey}) for {storm.role}",
            result_type=StormState,
            task_timeout=STORM_TASK_TIMEOUT,
        )
        async with gate:
            try:
                return await with_pydantic(client).execute_update_with_start_workflow(
                    "register",
                    StormRegistration(member=inp.member),
                    start_workflow_operation=start,
                    result_type=StormVerdict,
                )
            except (WorkflowUpdateFailedError, RPCError) as err:
                if not _busy(err) or asyncio.get_running_loop().time() > waited_until:
                    raise
        busy += 1
        await asyncio.sleep(min(1.0, 0.02 * 2 ** min(busy, 6)) * (0.5 + random.random()))


def _busy(err: Exception) -> bool:
    """Temporal's in-flight limit, an update aborted by a continue-as-new, or a full run."""
    if isinstance(err, WorkflowUpdateFailedError):
        return isinstance(err.cause, ApplicationError) and err.cause.type == RUN_FULL
    return update_busy(err)


class StormActivities:
    @activity.defn(name=ACTIVITY_STORM_GATE)
    async def storm_gate(self, inp: StormGateInput) -> StormVerdict:
        async with heartbeating():  # waiting its turn in a big storm is not being stuck
            return await ask_storm(activity.client(), activity.info().task_queue, inp)
