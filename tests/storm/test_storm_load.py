"""Storm test: 5,000 detections for 500 subjects of one rule within a minute.

The owner role gets exactly ``threshold`` individual first pages and ONE grouped
message (updated in place until it counts every grouped exception); all 500
exceptions are recorded, each its own workflow, and nothing crashes. Then nobody
acknowledges the storm: it escalates to level 2 with ONE message, and all 490 grouped
exceptions record the escalation (so reports count them).

The worker runs the workflows outside the sandbox: the sandbox's per-activation cost
made ~60 % of this test's time (5,000 detections are ~13,000 workflow activations on
one Python process), and it checks determinism per code path, which every other storm
test checks on the same code with the production (sandboxed) worker. What only this
test has (the storm's 490 serial registrations and 490 escalation signals, a grouped
member's duplicates and escalation) is replayed through the sandboxed Replayer at the end.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from storm_helpers import StormHarness, storm_harness_fixture, storm_policy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from escalator.client import raise_exception
from escalator.workflows.contracts import Detection, StepKind
from escalator.workflows.escalation import EscalationWorkflow
from escalator.workflows.storm import StormWorkflow
from escalator.workflows.storm_contracts import StormState, storm_id

storm_harness = pytest.fixture(storm_harness_fixture)
pytestmark = [pytest.mark.temporal, pytest.mark.timeout(240)]

SUBJECTS = 500
ROUNDS = 10  # every subject detected 10 times: 5,000 detections
THRESHOLD = 10
BATCH = 250  # 500 concurrent update-with-start calls make the Java test server fail (NPE)


def detection(n: int, round_: int) -> Detection:
    onset = datetime(2026, 3, 2, 7, 0, tzinfo=UTC) + timedelta(seconds=n % 60)
    return Detection(
        journey="orderToShip",
        rule="awaiting_inventory",
        subject=f"order-{n:04d}",
        onset=onset,
        payload={"warehouse": "ams-1", "poll": round_},
    )


async def test_5000_detections_give_one_grouped_message(storm_harness) -> None:
    h: StormHarness = await storm_harness(
        max_cached_workflows=1000, workflow_runner=UnsandboxedWorkflowRunner()
    )
    policy = storm_policy(threshold=THRESHOLD)
    sid = storm_id("orderToShip", "awaiting_inventory", "inventory")
    h.workflow_ids.add(sid)
    h.workflow_ids.update(
        f"exc:orderToShip:awaiting_inventory:order-{n:04d}" for n in range(SUBJECTS)
    )
    calls = [(n, r) for r in range(ROUNDS) for n in range(SUBJECTS)]
    started = time.monotonic()
    outcomes: list[str] = []
    for i in range(0, len(calls), BATCH):
        raised = await asyncio.gather(
            *(
                raise_exception(h.client, detection(n, r), policy=policy, task_queue=h.task_queue)
                for n, r in calls[i : i + BATCH]
            )
        )
        outcomes += [x.outcome for x in raised]
    raise_seconds = time.monotonic() - started
    assert len(outcomes) == SUBJECTS * ROUNDS
    assert outcomes.count("new") == SUBJECTS
    assert outcomes.count("duplicate") == SUBJECTS * (ROUNDS - 1)

    grouped = SUBJECTS - THRESHOLD
    await h.eventually(lambda: len(h.recorded(StepKind.GROUPED)) == grouped, within=90)
    await h.eventually(
        lambda: (
            bool(h.storm_messages())
            and h.storm_messages()[-1].notification.status.payload["count"] == grouped
        ),
        within=30,
    )
    # All 500 recorded, each exactly once as detected; 10 paged alone, 490 grouped.
    assert len(h.recorded(StepKind.DETECTED)) == SUBJECTS
    firsts = h.sends("first")
    assert len(firsts) == THRESHOLD, [s.notification.exception_id for s in firsts]
    assert len({s.notification.exception_id for s in firsts}) == THRESHOLD
    assert h.recorded(StepKind.GROUPED).isdisjoint({s.notification.exception_id for s in firsts})
    # One grouped message for the owner role; every later message about it edits it in place.
    storm_sends = h.sends("storm")
    assert len(storm_sends) == 1
    assert storm_sends[0].notification.role == "inventory"
    assert storm_sends[0].notification.target == "#inventory"
    updates = [s for s in h.storm_messages() if s.updated]
    assert all(s.updated == "msg-" + str(h.channel.sent.index(storm_sends[0]) + 1) for s in updates)
    summary = h.storm_messages()[-1].notification.status.payload["summary"]
    assert summary.startswith(f"{grouped} exceptions of awaiting_inventory (orderToShip)")
    # Nothing else went out: no per-subject updates from grouped exceptions.
    others = [s for s in h.channel.sent if s.notification.reason not in ("first", "storm")]
    assert others == []
    state = await h.client.get_workflow_handle(sid).query("state", result_type=StormState)
    assert len(state.members) == grouped and len(state.paged) == THRESHOLD
    # Nobody acknowledges: the storm escalates to level 2 with ONE message, and each of
    # the 490 members records the escalation itself (signalled in one workflow task).
    escalated_at = time.monotonic()
    await h.env.sleep(timedelta(minutes=61))
    await h.eventually(
        lambda: len(h.recorded(StepKind.ESCALATED) & h.recorded(StepKind.GROUPED)) == grouped,
        within=90,
    )
    escalate_seconds = time.monotonic() - escalated_at
    level2 = [s for s in h.sends("storm") if s.notification.role == "billing-leads"]
    assert [(s.notification.channel, s.notification.target) for s in level2] == [
        ("slack", "#billing-leads")
    ]
    # The sandbox's verdict on what ran unsandboxed: the storm, one paged exception and
    # one grouped exception (each detected ten times) replay without a determinism error.
    paged = firsts[0].notification.exception_id
    member = sorted(h.recorded(StepKind.GROUPED))[0]
    histories = [
        await h.client.get_workflow_handle(w).fetch_history() for w in (sid, paged, member)
    ]
    replayer = Replayer(
        workflows=[EscalationWorkflow, StormWorkflow], data_converter=pydantic_data_converter
    )
    for history in histories:
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert replayed.replay_failure is None, (history.workflow_id, replayed.replay_failure)
    print(
        f"\nstorm: {SUBJECTS * ROUNDS} detections raised in {raise_seconds:.1f} s "
        f"({SUBJECTS * ROUNDS / raise_seconds:.0f}/s); {len(h.storm_messages())} storm messages "
        f"({len(h.sends('storm'))} sent, {len(h.storm_messages()) - len(h.sends('storm'))} "
        f"in-place updates); {grouped} members escalated in {escalate_seconds:.1f} s"
    )
