"""Storm control for notify-routed exceptions: a storm usually starts before the error
budget burns, so its exceptions are routed notify; 500 Slack notifications are the same
flood as 500 pages. They pass the same gate, and the storm pages no louder than its
members were routed: all notify, Slack only and response times x NOTIFY_FACTOR; one
routed page, the level's full channels and response time from then on.

Real worker with a fixed routing decision per subject. With ESCALATOR_RECORD_HISTORIES=1
a grouped notify member and its storm are saved for the replay tests.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from storm_helpers import HISTORIES, StormHarness, storm_harness_fixture, storm_policy
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from escalator.activities.routing import Decide
from escalator.client import raise_exception
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.activity_contracts import RoutingDecision, RoutingInput
from escalator.workflows.constants import NOTIFY_FACTOR
from escalator.workflows.contracts import (
    AcknowledgeInput,
    Detection,
    ExceptionState,
    ExceptionStatus,
    ResolveInput,
    StepKind,
    UpdateResult,
)
from escalator.workflows.escalation import EscalationWorkflow
from escalator.workflows.escalation_state import EscalationState
from escalator.workflows.storm_contracts import StormState, storm_id
from escalator.workflows.storm_gate import StormGate
from escalator.workflows.storm_levels import level_channels, quiet, route

storm_harness = pytest.fixture(storm_harness_fixture)
pytestmark = pytest.mark.temporal

RECORD = os.environ.get("ESCALATOR_RECORD_HISTORIES") == "1"
SID = storm_id("orderToShip", "awaiting_inventory", "inventory")
SUBJECTS = [f"n-{i}" for i in range(5)]  # threshold 2: n-0, n-1 alone, n-2..n-4 grouped
RESPONSE = timedelta(minutes=60)
MEMBER_HISTORY = HISTORIES / "storm_notify_grouped.json"
STORM_HISTORY = HISTORIES / "storm" / "storm_notify_escalated.json"


def routed(pages: Collection[str] = ()) -> Decide:
    """Every subject notify-routed (the budget is intact), except those in ``pages``."""

    async def decide(inp: RoutingInput) -> RoutingDecision:
        if inp.detection.subject in pages:
            return RoutingDecision(action="page", reason="test: budget burning", headline="paged")
        return RoutingDecision(action="notify", reason="test: budget intact", headline="notified")

    return decide


def loud_policy() -> ExceptionPolicy:
    """Both levels by Slack and SMS, 60 minutes each: a notifying storm must drop the SMS.
    No ack timeout or time to restore, so nothing but the response times pages."""
    base = storm_policy(threshold=2, response=RESPONSE.total_seconds() / 60)
    levels = [
        lvl.model_copy(update={"channels": ["slack", "sms"]}) for lvl in base.escalation.levels
    ]
    escalation = base.escalation.model_copy(
        update={"levels": levels, "ack_timeout": None, "time_to_restore": None}
    )
    return base.model_copy(update={"escalation": escalation})


def detection(subject: str, n: int) -> Detection:
    onset = datetime(2026, 3, 2, 7, 0, tzinfo=UTC) + timedelta(minutes=n)
    return Detection(journey="orderToShip", rule="awaiting_inventory", subject=subject, onset=onset)


def eid(subject: str) -> str:
    return f"exc:orderToShip:awaiting_inventory:{subject}"


async def raise_one(h: StormHarness, subject: str, n: int) -> None:
    h.workflow_ids.update([SID, eid(subject)])
    await raise_exception(
        h.client, detection(subject, n), policy=loud_policy(), task_queue=h.task_queue
    )
    await h.eventually(
        lambda: eid(subject) in h.recorded(StepKind.GROUPED) | h.recorded(StepKind.NOTIFIED)
    )


async def storm_state(h: StormHarness) -> StormState:
    return await h.client.get_workflow_handle(SID).query("state", result_type=StormState)


async def member(h: StormHarness, subject: str) -> ExceptionStatus:
    handle = h.client.get_workflow_handle(eid(subject))
    return await handle.query("status", result_type=ExceptionStatus)


def grouped_at(h: StormHarness, subject: str) -> datetime:
    return next(s.at for s in h.recorder.timeline(eid(subject)) if s.kind is StepKind.GROUPED)


def storm_pages(h: StormHarness) -> list[tuple[str, str]]:
    """New grouped messages (not in-place edits): (role, channel)."""
    return [(s.notification.role, s.notification.channel) for s in h.sends("storm")]


def sms(h: StormHarness) -> list[str]:
    return [s.notification.exception_id for s in h.channel.sent if s.notification.channel == "sms"]


async def notify_storm(h: StormHarness) -> None:
    """Five notify-routed detections of one rule, threshold 2."""
    for i, s in enumerate(SUBJECTS):
        await raise_one(h, s, i)
    await h.eventually(
        lambda: (
            bool(h.storm_messages())
            and h.storm_messages()[-1].notification.status.payload["count"] == 3
        )
    )


async def save(h: StormHarness, workflow_id: str, path: Path) -> None:
    if RECORD:
        path.parent.mkdir(parents=True, exist_ok=True)
        history = await h.client.get_workflow_handle(workflow_id).fetch_history()
        await asyncio.to_thread(path.write_text, history.to_json())


async def test_a_storm_of_notifications_sends_threshold_notifications_then_one_quiet_message(
    storm_harness,
) -> None:
    h: StormHarness = await storm_harness(decide=routed())
    await notify_storm(h)
    # `threshold` individual Slack notifications, then the rest grouped: no message each.
    assert [s.notification.exception_id for s in h.sends("notify")] == [eid("n-0"), eid("n-1")]
    assert {s.notification.channel for s in h.sends("notify")} == {"slack"}
    assert h.recorded(StepKind.GROUPED) == {eid(s) for s in SUBJECTS[2:]}
    # ONE grouped message, on the level's quiet channel only; no SMS anywhere.
    assert storm_pages(h) == [("inventory", "slack")]
    assert sms(h) == []
    message = h.storm_messages()[-1].notification.status
    assert message.routing == "notify" and message.routing_reason
    assert "routed notify" in message.routing_reason
    state = await storm_state(h)
    assert state.routing == "notify"
    assert [m.routing for m in state.members] == ["notify"] * 3
    # The storm answers on a notification's timing: NOTIFY_FACTOR x the level's response.
    assert state.ack_due is not None
    waits = state.ack_due - grouped_at(h, "n-2")
    assert abs(waits - NOTIFY_FACTOR * RESPONSE) < timedelta(minutes=1)

    # A grouped notify member is still its own: no timer, acknowledgeable, resolvable,
    # and the storm counts its resolution; it never sends a message of its own.
    grouped = eid("n-3")
    before = await member(h, "n-3")
    assert before.routing == "notify" and before.ack_due is None
    handle = h.client.get_workflow_handle(grouped)
    ack = await handle.execute_update(
        "acknowledge", AcknowledgeInput(actor="alice"), result_type=UpdateResult
    )
    assert ack.state is ExceptionState.ACKNOWLEDGED
    await handle.execute_update(
        "resolve", ResolveInput(actor="alice", note="restocked"), result_type=UpdateResult
    )
    await h.eventually(lambda: h.storm_messages()[-1].notification.status.payload["resolved"] == 1)
    assert [s for s in h.channel.sent if s.notification.exception_id == grouped] == []
    assert sms(h) == []


@pytest.mark.time_skipping_only
async def test_a_storm_of_notifications_escalates_on_the_slower_timing(storm_harness) -> None:
    h: StormHarness = await storm_harness(decide=routed())
    await notify_storm(h)
    # Past a page's response time: a notification is not late yet.
    await h.env.sleep(RESPONSE + timedelta(minutes=1))
    await asyncio.sleep(0.3)  # a wrong escalation would have its chance to show
    assert storm_pages(h) == [("inventory", "slack")]
    assert (await storm_state(h)).level == 1
    # Past NOTIFY_FACTOR x the response time: level 2, by Slack only (the level says SMS too).
    await h.env.sleep(RESPONSE * (NOTIFY_FACTOR - 1))
    await h.eventually(lambda: len(h.sends("storm")) == 2)
    assert storm_pages(h) == [("inventory", "slack"), ("billing-leads", "slack")]
    state = await storm_state(h)
    assert state.level == 2 and state.routing == "notify"
    grouped = {eid(s) for s in SUBJECTS[2:]}
    await h.eventually(lambda: h.recorded(StepKind.ESCALATED) >= grouped)
    escalated = await member(h, "n-3")
    assert escalated.level == 2 and "billing-leads" in escalated.notified_roles
    # The level-2 role answers a grouped member it was told of; still no SMS to anyone
    # (the members paged alone escalated on their own notify timing, Slack only too).
    await h.client.get_workflow_handle(eid("n-3")).execute_update(
        "resolve", ResolveInput(actor="maria", note="stock moved"), result_type=UpdateResult
    )
    await h.eventually(lambda: eid("n-3") in h.recorded(StepKind.RESOLVED))
    assert sms(h) == []
    await h.eventually(lambda: h.storm_messages()[-1].notification.status.payload["resolved"] == 1)
    await save(h, eid("n-3"), MEMBER_HISTORY)
    await save(h, SID, STORM_HISTORY)


async def test_a_paged_member_turns_a_notifying_storm_into_a_paging_one(storm_harness) -> None:
    h: StormHarness = await storm_harness(decide=routed(pages={"n-4"}))
    for i, s in enumerate(SUBJECTS[:4]):
        await raise_one(h, s, i)
    await h.eventually(
        lambda: (
            bool(h.storm_messages())
            and h.storm_messages()[-1].notification.status.payload["count"] == 2
        )
    )
    assert storm_pages(h) == [("inventory", "slack")] and sms(h) == []
    assert (await storm_state(h)).routing == "notify"

    # n-4 is routed page (the budget burns now) and joins: the storm pages from now on.
    await raise_one(h, "n-4", 4)
    assert eid("n-4") in h.recorded(StepKind.GROUPED)  # grouped: no page of its own
    await h.eventually(lambda: ("inventory", "sms") in storm_pages(h))
    assert storm_pages(h) == [("inventory", "slack"), ("inventory", "sms")]  # post edited
    assert sms(h) == [SID]
    state = await storm_state(h)
    assert state.routing == "page" and state.ack_due is not None
    waits = state.ack_due - grouped_at(h, "n-4")  # a page's response time, from the switch
    assert abs(waits - RESPONSE) < timedelta(minutes=1)
    message = h.storm_messages()[-1].notification.status
    assert message.routing == "page" and message.routing_reason is None

    if h.env.supports_time_skipping:  # and escalates as a paging storm: level 2, Slack + SMS
        await h.env.sleep(RESPONSE + timedelta(minutes=1))
        await h.eventually(lambda: ("billing-leads", "sms") in storm_pages(h))
        # Each target on its own: the two arrive in either order.
        assert sorted(storm_pages(h)[2:]) == [("billing-leads", "slack"), ("billing-leads", "sms")]


# --- the recorded history covers the feature ---


def test_notify_storm_histories_are_recorded() -> None:
    assert MEMBER_HISTORY.exists() and STORM_HISTORY.exists()


async def test_the_grouped_notify_member_replays_only_with_the_gate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """test_replay.py replays every history against today's code; this one also fails
    without the notify gate, so the recording really holds a grouped notify member."""
    history = WorkflowHistory.from_json(
        "replay-storm-notify", await asyncio.to_thread(MEMBER_HISTORY.read_text)
    )

    async def never_held(self: StormGate, s: EscalationState) -> bool:
        return False  # the feature taken out: a notify-routed exception never asks the storm

    monkeypatch.setattr(StormGate, "notify_held", never_held)
    # Unsandboxed: the sandbox must not import a copy of the collaborator unpatched.
    replayer = Replayer(
        workflows=[EscalationWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with pytest.raises(Exception, match=r"[Nn]ondeterminism"):
        await replayer.replay_workflow(history)


def test_a_storm_pages_from_its_first_page_routed_exception_on() -> None:
    """The mode rule (pure): notify while every registration was notify; page for good."""
    st = StormState()
    assert not route(st, "notify") and quiet(st)
    assert not route(st, "notify") and quiet(st)
    assert route(st, "page") and not quiet(st)  # the switch: the caller pages loudly now
    assert not route(st, "notify") and st.routing == "page"  # sticky
    first_paged = StormState()
    assert not route(first_paged, "page") and not route(first_paged, "notify")
    assert first_paged.routing == "page"
    # A notifying storm drops SMS and voice, as a notify-routed exception does.
    assert level_channels(st.model_copy(update={"routing": "notify"}), ["sms", "voice"]) == [
        "slack"
    ]
    assert level_channels(st, ["slack", "sms"]) == ["slack", "sms"]
