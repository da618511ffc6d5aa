"""200 concurrent raises of one subject on the dev server: one exception, detected first.

Update-with-start (``USE_EXISTING``) starts the workflow with the first call and
hands it the others as updates, often in its very first workflow task, before its
run method has started. The DETECTED step is recorded when the workflow is
initialised, so it is always seq 1 and every later detection an occurrence after it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from harness import subject
from policy_factory import detection, make_policy
from temporalio.testing import WorkflowEnvironment

from activities.channels import CapturingSender
from activities.playbook import InMemoryConditions
from activities.records import InMemoryRecorder
from activities.routing import always_page
from detectors.raising import raise_exception, with_pydantic
from workers.worker import Wiring, build_worker
from workflows.contracts import ExceptionStatus, StepKind

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(400)]

RAISES = 200


async def test_200_concurrent_raises_of_one_subject(dev_server: WorkflowEnvironment) -> None:
    client = with_pydantic(dev_server.client)
    task_queue = f"tq-raises-{subject()}"
    channel, recorder = CapturingSender(), InMemoryRecorder()
    wiring = Wiring(
        recorder=recorder,
        senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
        fallback=channel,
        actions={},
        checker=InMemoryConditions(),
        decide=always_page,
    )
    policy = make_policy(timedelta(hours=1))  # no escalation while the test runs
    case = subject()
    # 200 different detections of one subject (each poll sees it again): 200 occurrences.
    detections = [detection(case, waiting_for="sku-42", poll=i) for i in range(RAISES)]
    async with build_worker(client, task_queue, wiring):
        raised = await asyncio.gather(
            *(raise_exception(client, d, policy=policy, task_queue=task_queue) for d in detections)
        )
        eids = {r.exception_id for r in raised}
        assert len(eids) == 1  # one workflow
        [eid] = eids
        handle = client.get_workflow_handle(eid, result_type=ExceptionStatus)
        assert [r.outcome for r in raised].count("new") == 1

        deadline = asyncio.get_running_loop().time() + 240
        while True:
            status = await handle.query("status", result_type=ExceptionStatus)
            done = status.occurrences == RAISES and any(
                s.kind is StepKind.NOTIFIED for s in status.timeline
            )
            if done or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
        assert status.occurrences == RAISES
        runs = [e async for e in client.list_workflows(f"WorkflowId = '{eid}'")]
        assert len(runs) == 1

        timeline = status.timeline
        assert (timeline[0].kind, timeline[0].seq) == (StepKind.DETECTED, 1)
        kinds = [s.kind for s in timeline]
        assert kinds.count(StepKind.DETECTED) == 1
        assert kinds.count(StepKind.OCCURRED_AGAIN) == RAISES - 1
        assert [s.seq for s in timeline] == list(range(1, len(timeline) + 1))
        notified = [s for s in timeline if s.kind is StepKind.NOTIFIED]
        assert [s.detail["reason"] for s in notified] == ["first"]  # one first notification
        firsts = [n for n in channel.for_exception(eid) if n.reason == "first"]
        assert sorted(n.channel for n in firsts) == ["slack", "sms"]  # the level's two targets
        await handle.terminate("test finished")
