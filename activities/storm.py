"""The storm-gate activity: asks the rule's StormWorkflow whether to page or to group.

Update-with-start on ``storm:{journey}:{rule}:{role}`` (``USE_EXISTING``): the
first exception of a quiet rule starts the storm workflow, every later one
registers with the running one. The storm workflow decides, so 500 exceptions
asking at once get consistent answers (updates on one workflow are serial).
A workflow cannot start another one by id with update-with-start, which is why
this is an activity; its client is the worker's own.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from detectors.raising import with_pydantic
from workflows.storm_contracts import (
    ACTIVITY_STORM_GATE,
    STORM_WORKFLOW,
    StormGateInput,
    StormRegistration,
    StormState,
    StormVerdict,
    storm_id,
)

__all__ = ["StormActivities", "ask_storm"]


async def ask_storm(client: Client, task_queue: str, inp: StormGateInput) -> StormVerdict:
    storm = inp.storm
    sid = storm_id(storm.journey, storm.rule, storm.role)
    start: WithStartWorkflowOperation[Any, StormState] = WithStartWorkflowOperation(
        STORM_WORKFLOW,
        storm,
        id=sid,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=task_queue,
        static_summary=f"Storm control: {storm.rule} ({storm.journey}) for {storm.role}",
        result_type=StormState,
    )
    return await with_pydantic(client).execute_update_with_start_workflow(
        "register",
        StormRegistration(member=inp.member),
        start_workflow_operation=start,
        result_type=StormVerdict,
    )


class StormActivities:
    @activity.defn(name=ACTIVITY_STORM_GATE)
    async def storm_gate(self, inp: StormGateInput) -> StormVerdict:
        return await ask_storm(activity.client(), activity.info().task_queue, inp)
