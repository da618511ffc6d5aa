"""200 concurrent raises of one subject: one workflow, one first page, 200 occurrences.

Two hundred detections of the same case (each with its own evidence, so none
is a retry of another) race through update-with-start on the dedupe key. One
EscalationWorkflow must own them all, the owner must be paged once per page
of the policy, the exception must count 200 occurrences, and its timeline
must start with `detected`.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from fault_processes import wait_until
from fault_stack import FaultStack, exception_id

from escalator.client import exception_handle
from escalator.workflows.contracts import ExceptionStatus

# The scenario, its settling deadline, the stack's start when this test runs first.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

RAISES = 200
SUBJECT = "concurrent-one"


async def test_200_concurrent_raises_make_one_exception(live: FaultStack) -> None:
    assert live.client is not None
    raised_at = {SUBJECT: time.time()}
    raised = await asyncio.gather(
        *(live.raise_retrying(SUBJECT, waiting_for=f"sku-{i}") for i in range(RAISES))
    )
    eid = exception_id(SUBJECT)
    query = f'WorkflowId = "{eid}"'

    async def one_workflow() -> bool:
        assert live.client is not None
        return (await live.client.count_workflows(query)).count >= 1

    await wait_until("the workflow in visibility", one_workflow, within=20)

    async def all_counted() -> bool:
        # raise returns once Temporal holds the detection; the worker may still be counting.
        assert live.client is not None
        handle = exception_handle(live.client, eid)
        counted = await handle.query("status", result_type=ExceptionStatus)
        return counted.occurrences >= RAISES

    await wait_until("every detection counted", all_counted, within=60)
    status = await exception_handle(live.client, eid).query("status", result_type=ExceptionStatus)
    outcome = await live.settle(
        f"{RAISES} concurrent raises of one subject",
        f"{RAISES} signal-with-start calls on one dedupe key at once",
        lambda: RAISES,
        raised_at,
        within=40,
    )
    f = outcome.figures
    kinds = outcome.records.timeline.get(eid, [])
    workflows = (await live.client.count_workflows(query)).count
    found = {
        "exception ids": {r.exception_id for r in raised},
        "outcomes new": [r.outcome for r in raised].count("new"),
        "workflows": workflows,
        "occurrences (status)": status.occurrences,
        # A pending answer (the worker did not answer within the raise's wait) has no count;
        # no answer may claim more occurrences than there were detections.
        "answers over the count": sum(1 for r in raised if (r.occurrences or 0) > RAISES),
        "occurred_again steps": kinds.count("occurred_again"),
        "first step": kinds[:1],
        "lost, duplicated": (f.lost, f.duplicated),
    }
    wanted = {
        "exception ids": {eid},
        "outcomes new": 1,
        "workflows": 1,
        "occurrences (status)": RAISES,
        "answers over the count": 0,
        "occurred_again steps": RAISES - 1,
        "first step": ["detected"],
        "lost, duplicated": (0, 0),
    }
    assert found == wanted, f"{outcome.summary()}\nraise errors retried: {f.raise_errors}"
    assert not outcome.problems, outcome.summary()
