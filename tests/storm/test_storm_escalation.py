"""A storm escalates like one exception: level 2, level 3 ..., then what the policy says.

Real worker, time-skipping server (policy durations in minutes; hours are skipped).
With ESCALATOR_RECORD_HISTORIES=1 the escalated storm and one escalated member are
saved for the replay tests (tests/histories/storm/, tests/histories/).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from storm_helpers import HISTORIES, StormHarness, storm_harness_fixture, storm_policy
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowUpdateFailedError

from escalator.analytics.report import build_report
from escalator.client import raise_exception
from escalator.policies.snapshot import ExceptionPolicy
from escalator.records.frames import load_exceptions
from escalator.records.store import Store
from escalator.workflows.contracts import (
    AcknowledgeInput,
    Detection,
    ExceptionState,
    ExceptionStatus,
    ResolveInput,
    StepKind,
    UpdateResult,
)
from escalator.workflows.storm_contracts import StormAckInput, StormAnswer, StormState, storm_id

storm_harness = pytest.fixture(storm_harness_fixture)
pytestmark = [pytest.mark.temporal, pytest.mark.time_skipping_only]

RECORD = os.environ.get("ESCALATOR_RECORD_HISTORIES") == "1"
SID = storm_id("orderToShip", "awaiting_inventory", "inventory")
SUBJECTS = [f"e-{i}" for i in range(5)]  # threshold 2: e-0, e-1 page alone, e-2..e-4 group


def detection(subject: str, n: int) -> Detection:
    onset = datetime(2026, 3, 2, 7, 0, tzinfo=UTC) + timedelta(minutes=n)
    return Detection(journey="orderToShip", rule="awaiting_inventory", subject=subject, onset=onset)


def eid(subject: str) -> str:
    return f"exc:orderToShip:awaiting_inventory:{subject}"


def escalating_policy() -> ExceptionPolicy:
    """Level 1 inventory (Slack), level 2 billing-leads (Slack + SMS), 60 min each;
    exhausted: broadcast to incident-leads. No ack timeout or time to restore, so an
    acknowledgement holds for the whole test."""
    base = storm_policy(threshold=2)
    levels = list(base.escalation.levels)
    levels[1] = levels[1].model_copy(update={"channels": ["slack", "sms"]})
    escalation = base.escalation.model_copy(
        update={"levels": levels, "ack_timeout": None, "time_to_restore": None}
    )
    return base.model_copy(update={"escalation": escalation})


async def storm_of_three(h: StormHarness, policy: ExceptionPolicy) -> None:
    h.workflow_ids.update([SID, *map(eid, SUBJECTS)])
    for i, s in enumerate(SUBJECTS):
        await raise_exception(h.client, detection(s, i), policy=policy, task_queue=h.task_queue)

        # a typed default, where a lambda's `s=s` leaves mypy unable to infer it
        def joined(s: str = s) -> bool:
            return eid(s) in h.recorded(StepKind.GROUPED) | h.recorded(StepKind.NOTIFIED)

        await h.eventually(joined)
    await h.eventually(lambda: len(h.sends("storm")) == 1)


async def storm_state(h: StormHarness) -> StormState:
    return await h.client.get_workflow_handle(SID).query("state", result_type=StormState)


async def member(h: StormHarness, subject: str) -> ExceptionStatus:
    handle = h.client.get_workflow_handle(eid(subject))
    return await handle.query("status", result_type=ExceptionStatus)


def storm_pages(h: StormHarness) -> list[tuple[str, str, str]]:
    """New grouped messages (not in-place edits): (role, channel, target)."""
    return [
        (s.notification.role, s.notification.channel, s.notification.target)
        for s in h.sends("storm")
    ]


async def save(h: StormHarness, workflow_id: str, path: Path) -> None:
    if RECORD:
        path.parent.mkdir(parents=True, exist_ok=True)
        history = await h.client.get_workflow_handle(workflow_id).fetch_history()
        await asyncio.to_thread(path.write_text, history.to_json())


async def test_an_unacknowledged_storm_escalates_level_by_level(storm_harness, tmp_path) -> None:
    h: StormHarness = await storm_harness()
    await storm_of_three(h, escalating_policy())
    first = h.sends("storm")[0].notification
    assert first.level == 1 and first.status.ack_due is not None  # the page starts the clock
    # One member acknowledged alone: the storm is not acknowledged by it.
    await h.client.get_workflow_handle(eid("e-2")).execute_update(
        "acknowledge", AcknowledgeInput(actor="alice"), result_type=UpdateResult
    )

    await h.env.sleep(timedelta(minutes=61))
    await h.eventually(lambda: len(h.sends("storm")) == 3)
    # ONE message per target of level 2 (channel post + SMS to the on-call), not per member;
    # each target is delivered on its own, so they arrive in either order.
    assert sorted(storm_pages(h)[1:]) == [
        ("billing-leads", "slack", "#billing-leads"),
        ("billing-leads", "sms", "+31600000002"),
    ]
    grouped = {eid(s) for s in SUBJECTS[2:]}
    await h.eventually(lambda: h.recorded(StepKind.ESCALATED) & grouped == {eid("e-3"), eid("e-4")})
    escalated = await member(h, "e-3")
    assert escalated.level == 2 and escalated.owner_role == "billing-leads"
    assert "billing-leads" in escalated.notified_roles
    assert (await member(h, "e-2")).state is ExceptionState.ACKNOWLEDGED  # owned: not escalated
    state = await storm_state(h)
    assert state.level == 2 and state.notified_roles == ["inventory", "billing-leads"]
    # The Temporal UI shows it in the storm's details.
    meta = await h.client.get_workflow_handle(SID).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    assert "escalated: level 2, billing-leads" in meta.current_details
    # The level-1 message was edited in place to say so, not sent again.
    await h.eventually(
        lambda: any(
            s.updated and s.notification.target == "#inventory" and s.notification.level == 2
            for s in h.storm_messages()
        )
    )
    assert [p for p in storm_pages(h) if p[2] == "#inventory"] == [storm_pages(h)[0]]

    # The role told now may answer a member, as for an exception escalated alone.
    await h.client.get_workflow_handle(eid("e-4")).execute_update(
        "resolve", ResolveInput(actor="maria", note="stock moved"), result_type=UpdateResult
    )

    # Nobody at level 2 either: every level exhausted, the policy broadcasts to the leads.
    await h.env.sleep(timedelta(minutes=61))
    await h.eventually(lambda: len(h.sends("storm")) == 4)
    assert storm_pages(h)[3] == ("incident-leads", "slack", "#incident-leads")
    await h.eventually(lambda: h.recorded(StepKind.EXHAUSTED) >= {eid("e-3")})
    assert eid("e-4") not in h.recorded(StepKind.EXHAUSTED)  # resolved before
    state = await storm_state(h)
    assert state.exhausted and state.ack_due is None
    assert (
        "every level (2) was paged" in h.storm_messages()[-1].notification.status.payload["summary"]
    )

    # The records: the report counts the grouped members whose storm escalated.
    await h.eventually(lambda: eid("e-4") in h.recorded(StepKind.RESOLVED))
    store = Store.open(f"sqlite:///{tmp_path / 'records.db'}")
    try:
        store.record_steps_sync(sorted(h.recorder.steps.values(), key=lambda s: (s.at, s.seq)))
        latest = max(s.at for s in h.recorder.steps.values())
        report = build_report(load_exceptions(store.engine), as_of=latest + timedelta(days=1))
    finally:
        store.close()
    # e-0 and e-1 paged alone and escalated alone; e-3, e-4 with the storm; e-2 was owned.
    assert report["totals"]["escalated"] == 4, report["totals"]

    await save(h, eid("e-3"), HISTORIES / "storm_member_escalated.json")
    await h.env.sleep(timedelta(minutes=6))  # quiet, nothing left to escalate: over
    await h.eventually(lambda: h.storm_messages()[-1].notification.status.payload["over"])
    await save(h, SID, HISTORIES / "storm" / "storm_escalated_exhausted.json")


async def test_acknowledging_the_storm_stops_its_escalation(storm_harness) -> None:
    h: StormHarness = await storm_harness()
    await storm_of_three(h, escalating_policy())
    handle = h.client.get_workflow_handle(SID)
    # Only roles the storm told (and the incident leads) may answer it.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            "acknowledge", StormAckInput(actor="maria"), result_type=StormAnswer
        )
    assert "maria is not in inventory or incident-leads" in str(refused.value.cause)

    answer = await handle.execute_update(
        "acknowledge", StormAckInput(actor="bob"), result_type=StormAnswer
    )
    assert answer.open_members == [eid(s) for s in SUBJECTS[2:]]
    await h.eventually(lambda: h.storm_messages()[-1].notification.status.acknowledged_by == "bob")
    await h.env.sleep(timedelta(minutes=61))
    await asyncio.sleep(0.3)  # a wrong escalation would have its chance to show
    assert storm_pages(h) == [("inventory", "slack", "#inventory")]
    assert h.recorded(StepKind.ESCALATED) & {eid(s) for s in SUBJECTS[2:]} == set()
    assert (await storm_state(h)).level == 1


async def test_resolving_every_member_ends_the_escalation(storm_harness) -> None:
    h: StormHarness = await storm_harness()
    await storm_of_three(h, escalating_policy())
    for s in SUBJECTS[2:]:
        await h.client.get_workflow_handle(eid(s)).execute_update(
            "resolve", ResolveInput(actor="alice", note="restocked"), result_type=UpdateResult
        )
    await h.eventually(lambda: h.storm_messages()[-1].notification.status.payload["open"] == 0)
    await h.env.sleep(timedelta(minutes=61))
    await asyncio.sleep(0.3)
    assert storm_pages(h) == [("inventory", "slack", "#inventory")]
    result = await h.client.get_workflow_handle(SID).describe()
    assert result.status is not None and result.status.name == "COMPLETED"


@pytest.mark.parametrize("on_exhausted", ["repeat", "flag"])
async def test_when_every_level_is_exhausted_the_policy_decides(
    storm_harness, on_exhausted
) -> None:
    h: StormHarness = await storm_harness()
    base = escalating_policy()
    policy = base.model_copy(
        update={"escalation": base.escalation.model_copy(update={"on_exhausted": on_exhausted})}
    )
    await storm_of_three(h, policy)
    await h.env.sleep(timedelta(minutes=61))
    await h.eventually(lambda: len(h.sends("storm")) == 3)  # level 2: post + SMS
    await h.env.sleep(timedelta(minutes=61))
    member_steps = lambda: [s.kind for s in h.recorder.timeline(eid("e-3"))]  # noqa: E731
    await h.eventually(lambda: StepKind.EXHAUSTED in member_steps())
    state = await storm_state(h)
    if on_exhausted == "repeat":  # level 1 is paged again, with a new message
        await h.eventually(lambda: len(h.sends("storm")) == 4)
        assert storm_pages(h)[3] == ("inventory", "slack", "#inventory")
        assert (state.level, state.round, state.exhausted) == (1, 1, False)
        assert state.ack_due is not None  # and it keeps escalating
        await h.eventually(lambda: member_steps()[-1] is StepKind.ESCALATED)
        assert (await member(h, "e-3")).level == 1
    else:  # flag: nobody new is paged; the storm stays answerable
        await asyncio.sleep(0.3)
        assert len(h.sends("storm")) == 3
        assert state.exhausted and state.ack_due is None
        assert (await member(h, "e-3")).exhausted


async def test_a_page_that_did_not_get_through_goes_out_with_the_next_update(storm_harness) -> None:
    h: StormHarness = await storm_harness()
    h.channel.fail_targets["#inventory"] = False  # Slack refuses the channel post
    h.workflow_ids.update([SID, *map(eid, SUBJECTS)])
    for i, s in enumerate(SUBJECTS):
        await raise_exception(
            h.client, detection(s, i), policy=escalating_policy(), task_queue=h.task_queue
        )
    for _ in range(200):  # until the storm tried its page
        state = await storm_state(h)
        if state.sent and state.notified_roles:
            break
        await asyncio.sleep(0.05)
    assert state.messages == {} and h.sends("storm") == []
    del h.channel.fail_targets["#inventory"]
    await h.client.get_workflow_handle(eid("e-4")).execute_update(
        "resolve", ResolveInput(actor="alice", note="moved"), result_type=UpdateResult
    )
    await h.eventually(lambda: storm_pages(h) == [("inventory", "slack", "#inventory")])
