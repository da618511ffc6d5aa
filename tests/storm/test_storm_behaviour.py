"""Storm control in detail: who is paged, what a grouped exception still does, hold-down.

With ESCALATOR_RECORD_HISTORIES=1 the runs here are saved for the replay tests
(a grouped exception, one paged through the gate, a held-down reopen, a storm).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from storm_helpers import HISTORIES, StormHarness, storm_harness_fixture, storm_policy
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from escalator.client import clear_condition, raise_exception
from escalator.workflows.contracts import (
    AcknowledgeInput,
    Detection,
    ExceptionState,
    ExceptionStatus,
    ResolveInput,
    StepKind,
    UpdateResult,
)
from escalator.workflows.storm import StormWorkflow
from escalator.workflows.storm_contracts import StormAckInput, StormAnswer, StormState, storm_id

storm_harness = pytest.fixture(storm_harness_fixture)
pytestmark = pytest.mark.temporal

RECORD = os.environ.get("ESCALATOR_RECORD_HISTORIES") == "1"
STORM_HISTORIES = HISTORIES / "storm"
SID = storm_id("orderToShip", "awaiting_inventory", "inventory")


def detection(subject: str, n: int = 0) -> Detection:
    return Detection(
        journey="orderToShip",
        rule="awaiting_inventory",
        subject=subject,
        onset=datetime(2026, 3, 2, 7, 0, tzinfo=UTC) + timedelta(minutes=n),
        payload={"n": n},
    )


def eid(subject: str) -> str:
    return f"exc:orderToShip:awaiting_inventory:{subject}"


async def status(h: StormHarness, exception_id: str) -> ExceptionStatus:
    handle = h.client.get_workflow_handle(exception_id, result_type=ExceptionStatus)
    return await handle.query("status", result_type=ExceptionStatus)


async def save(h: StormHarness, workflow_id: str, path: Path) -> None:
    if RECORD:
        path.parent.mkdir(parents=True, exist_ok=True)
        history = await h.client.get_workflow_handle(workflow_id).fetch_history()
        await asyncio.to_thread(path.write_text, history.to_json())


async def test_beyond_the_threshold_exceptions_join_one_message(storm_harness) -> None:
    h: StormHarness = await storm_harness()
    policy = storm_policy(threshold=2)
    subjects = [f"o-{i}" for i in range(5)]
    h.workflow_ids.update([SID, *map(eid, subjects)])
    for i, s in enumerate(subjects):  # one after the other: which ones page is then known
        await raise_exception(h.client, detection(s, i), policy=policy, task_queue=h.task_queue)

        # a typed default, where a lambda's `s=s` leaves mypy unable to infer it
        def joined(s: str = s) -> bool:
            return eid(s) in h.recorded(StepKind.GROUPED) | h.recorded(StepKind.NOTIFIED)

        await h.eventually(joined)
    assert [n.notification.exception_id for n in h.sends("first")] == [eid("o-0"), eid("o-1")]
    assert h.recorded(StepKind.GROUPED) == {eid(s) for s in subjects[2:]}
    await h.eventually(
        lambda: (
            bool(h.storm_messages())
            and h.storm_messages()[-1].notification.status.payload["count"] == 3
        )
    )
    assert len(h.sends("storm")) == 1
    assert "o-2, o-3, o-4" in h.storm_messages()[-1].notification.status.payload["summary"]

    # A grouped exception is still its own: the role acknowledges and resolves it.
    grouped = eid("o-3")
    before = await status(h, grouped)
    assert before.level == 1 and before.ack_due is None and "inventory" in before.notified_roles
    handle = h.client.get_workflow_handle(grouped)
    ack = await handle.execute_update(
        "acknowledge", AcknowledgeInput(actor="alice"), result_type=UpdateResult
    )
    assert ack.state is ExceptionState.ACKNOWLEDGED
    await handle.execute_update(
        "resolve", ResolveInput(actor="alice", note="restocked"), result_type=UpdateResult
    )
    await h.eventually(lambda: h.storm_messages()[-1].notification.status.payload["resolved"] == 1)
    assert "1 resolved, 2 open" in h.storm_messages()[-1].notification.status.payload["summary"]
    # ... without a single message of its own.
    assert [s for s in h.channel.sent if s.notification.exception_id == grouped] == []
    assert {s.kind for s in h.recorder.timeline(grouped)} >= {
        StepKind.DETECTED,
        StepKind.GROUPED,
        StepKind.ACKNOWLEDGED,
        StepKind.RESOLVED,
    }
    await h.eventually(lambda: StepKind.RESOLVED in {s.kind for s in h.recorder.timeline(grouped)})
    await save(h, grouped, HISTORIES / "storm_grouped.json")
    await save(h, eid("o-0"), HISTORIES / "storm_paged.json")

    # Once acknowledged (nothing left to escalate) the storm ends after a quiet window;
    # its last message says so.
    await h.client.get_workflow_handle(SID).execute_update(
        "acknowledge", StormAckInput(actor="alice"), result_type=StormAnswer
    )
    await h.env.sleep(timedelta(minutes=6))
    result = await h.client.get_workflow_handle(SID, result_type=StormState).result()
    assert len(result.members) == 3 and len(result.paged) == 2
    await h.eventually(
        lambda: "storm over" in h.storm_messages()[-1].notification.status.payload["summary"]
    )
    # storm/storm_workflow.json stays as recorded before the storm-escalation patch.
    await save(h, SID, STORM_HISTORIES / "storm_acknowledged.json")


async def test_a_flapping_exception_is_held_down(storm_harness) -> None:
    h: StormHarness = await storm_harness()
    policy = storm_policy(threshold=100, hold_down=timedelta(minutes=10))
    subject = "o-flap"
    h.workflow_ids.update([SID, eid(subject)])

    async def raise_(n: int) -> str:
        raised = await raise_exception(
            h.client, detection(subject, n), policy=policy, task_queue=h.task_queue
        )
        return raised.outcome

    async def clear() -> None:
        assert await clear_condition(h.client, "orderToShip", "awaiting_inventory", subject)
        await h.eventually(lambda: eid(subject) in h.recorded(StepKind.RESOLVED))

    assert await raise_(0) == "new"
    await h.eventually(lambda: len(h.sends("first")) == 1)
    await clear()
    # Reopened a moment later (within the 10-minute hold-down): recorded, nobody paged.
    assert await raise_(1) == "reopened"
    await h.eventually(lambda: eid(subject) in h.recorded(StepKind.HELD_DOWN))
    current = await status(h, eid(subject))
    assert current.state is ExceptionState.OPEN
    assert len(h.sends("first")) == 1
    held = [s for s in h.recorder.timeline(eid(subject)) if s.kind is StepKind.HELD_DOWN]
    assert "within the hold-down of 10m" in held[0].detail["reason"]
    # It flaps back to healthy within the hold-down: still nobody paged.
    resolved_before = len(
        [s for s in h.recorder.timeline(eid(subject)) if s.kind is StepKind.RESOLVED]
    )
    assert await clear_condition(h.client, "orderToShip", "awaiting_inventory", subject)
    await h.eventually(
        lambda: (
            len([s for s in h.recorder.timeline(eid(subject)) if s.kind is StepKind.RESOLVED])
            > resolved_before
        )
    )
    assert len(h.sends("first")) == 1
    # Reopened again and still open when the hold-down ends: now it pages.
    assert await raise_(2) == "reopened"
    await h.eventually(
        lambda: (
            len([s for s in h.recorder.timeline(eid(subject)) if s.kind is StepKind.HELD_DOWN]) == 2
        )
    )
    await h.env.sleep(timedelta(minutes=11))
    await h.eventually(lambda: len(h.sends("first")) == 2)
    await save(h, eid(subject), HISTORIES / "storm_hold_down.json")


@pytest.mark.parametrize("path", sorted(STORM_HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_storm_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(
        f"replay-{path.stem}", await asyncio.to_thread(path.read_text)
    )
    replayer = Replayer(workflows=[StormWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_storm_histories_are_recorded() -> None:
    names = {p.stem for p in HISTORIES.glob("*.json")} | {
        f"storm/{p.stem}" for p in STORM_HISTORIES.glob("*.json")
    }
    assert {"storm_grouped", "storm_paged", "storm_hold_down", "storm/storm_workflow"} <= names
    # After the storm-escalation patch (tests/storm/test_storm_escalation.py records them).
    assert {"storm_member_escalated", "storm/storm_escalated_exhausted"} <= names
    # After the storm-delivery-per-target patch (tests/storm/test_storm_delivery.py).
    assert "storm/storm_delivery_outage" in names
