"""Personal notification rules in the EscalationWorkflow: a member's steps go out on
durable timers, within the level's channels; an acknowledgement stops the rest; the
level's response time still decides when the next level is paged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from harness import Harness, has, steps, subject
from policy_factory import ROLES, detection, make_policy

from escalator.policies.roles import EscalationLevel, LevelChannel, Member, OwnerRole
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.activity_contracts import RoutingDecision, RoutingInput
from escalator.workflows.constants import PERSONAL_NOTIFY_RULES
from escalator.workflows.contracts import (
    AcknowledgeInput,
    AddNoteInput,
    ExceptionState,
    StepKind,
    TimelineStep,
)

# Exact step times are asserted: time must skip (a unit is a minute there).
pytestmark = [pytest.mark.temporal, pytest.mark.time_skipping_only]

ALICE_DM, ALICE_PHONE = "UALICE1", "+31600000001"
RULE = {
    "page": [
        {"channel": "slack_dm"},
        {"channel": "sms", "after": "2m"},
        {"channel": "voice", "after": "5m"},
    ],
    "notify": [{"channel": "slack_dm"}],
}
# How late a step's message may be recorded after its due time (the delivery's round trip).
LATE = timedelta(seconds=5)


def _policy(
    h: Harness,
    channels: list[LevelChannel],
    response: float,
    rule: dict[str, Any] | None = RULE,
) -> ExceptionPolicy:
    """alice (on call: the first member) with ``rule``; bob with a rule of his own that
    must never run, since he is never paged."""
    assert h.unit == timedelta(minutes=1), "the rule's steps are in minutes"
    base = make_policy(h.unit)
    inventory = OwnerRole(
        name="inventory",
        slack_channel="#inventory",
        members=[
            Member(name="alice", slack_user_id=ALICE_DM, phone=ALICE_PHONE, notify=rule),
            Member(
                name="bob",
                slack_user_id="UBOB01",
                phone="+31600000009",
                notify={"page": [{"channel": "voice"}]},
            ),
        ],
    )
    levels = [
        EscalationLevel(role="inventory", channels=channels, response_time=h.unit * response),
        EscalationLevel(role="billing-leads", channels=["slack"], response_time=h.unit * 3),
    ]
    return base.model_copy(
        update={
            "roles": dict(ROLES) | {"inventory": inventory},
            "escalation": base.escalation.model_copy(update={"levels": levels}),
        }
    )


def _personal(status_steps: list[TimelineStep], channel: str) -> list[TimelineStep]:
    return [
        s
        for s in status_steps
        if s.kind is StepKind.NOTIFIED
        and s.detail.get("personal_step", {}).get("channel") == channel
    ]


def _alice(h: Harness, eid: str) -> list[tuple[str, str]]:
    return [
        (n.channel, n.target)
        for n in h.channel.for_exception(eid)
        if n.member == "alice" and n.channel != "slack"
    ]


def _on_time(step: TimelineStep, page: TimelineStep, after: timedelta) -> None:
    """``step`` went out ``after`` the page that laid it out (and was recorded soon after)."""
    due = datetime.fromisoformat(page.detail["personal"]["at"]) + after
    assert step.detail["personal_step"]["due"] == due.isoformat()
    assert timedelta(0) <= step.at - due < LATE, (step.at, due)


async def test_dm_at_once_sms_at_2m_voice_at_5m_while_the_levels_go_on(harness: Harness) -> None:
    h = harness
    policy = _policy(h, ["slack", "slack_dm", "sms", "voice"], response=3)
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    first = steps(await h.until(eid, has(StepKind.NOTIFIED)), StepKind.NOTIFIED)[0]
    assert {(e["channel"], e["target"]) for e in first.detail["sent"]} == {
        ("slack", "#inventory"),
        ("slack_dm", ALICE_DM),
    }
    laid_out = first.detail["personal"]
    assert laid_out["member"] == "alice" and laid_out["urgency"] == "page"
    assert [(e["channel"], e["outcome"]) for e in laid_out["steps"]] == [
        ("slack_dm", "sent"),
        ("sms", "due"),
        ("voice", "due"),
    ]
    assert _alice(h, eid) == [("slack_dm", ALICE_DM)]  # nothing else before 2m

    await h.advance(2)
    status = await h.until(eid, lambda s: bool(_personal(s.timeline, "sms")))
    _on_time(_personal(status.timeline, "sms")[0], first, 2 * h.unit)
    assert _alice(h, eid) == [("slack_dm", ALICE_DM), ("sms", ALICE_PHONE)]

    # The level's response time, not the rule, decides the next level: at 3m, level 2.
    await h.advance(1)
    status = await h.until(eid, lambda s: s.level == 2)
    escalated = steps(status, StepKind.ESCALATED)[0]
    since_page = escalated.at - datetime.fromisoformat(first.detail["personal"]["at"])
    assert abs(since_page - 3 * h.unit) < LATE
    assert not _personal(status.timeline, "voice")

    await h.advance(2)  # 5m: alice's voice call, still hers (level 1's), while level 2 waits
    status = await h.until(eid, lambda s: bool(_personal(s.timeline, "voice")))
    voice = _personal(status.timeline, "voice")[0]
    _on_time(voice, first, 5 * h.unit)
    assert voice.level == 1 and voice.role == "inventory"
    assert _alice(h, eid) == [
        ("slack_dm", ALICE_DM),
        ("sms", ALICE_PHONE),
        ("voice", ALICE_PHONE),
    ]
    # Each step its own delivery, its own idempotency key.
    keys = [n.idempotency_key for n in h.channel.for_exception(eid) if n.member == "alice"]
    assert len(keys) == 3 == len(set(keys))
    assert all(n.reason == "first" for n in h.channel.for_exception(eid) if n.member == "alice")
    assert not [n for n in h.channel.for_exception(eid) if n.member == "bob"]
    assert await _patches(h, eid, PERSONAL_NOTIFY_RULES) == 1


async def test_acknowledging_at_3m_stops_the_voice_call(harness: Harness) -> None:
    h = harness
    policy = _policy(h, ["slack", "slack_dm", "sms", "voice"], response=10)
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    first = steps(await h.until(eid, has(StepKind.NOTIFIED)), StepKind.NOTIFIED)[0]
    await h.advance(3)
    await h.until(eid, lambda s: bool(_personal(s.timeline, "sms")))
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice", via="sms"))
    status = await h.until(eid, has(StepKind.STEPS_STOPPED))
    stopped = steps(status, StepKind.STEPS_STOPPED)[0]
    assert stopped.actor == "alice" and stopped.detail["cause"] == "acknowledged by alice"
    assert [(p["channel"], p["step"], p["after"]) for p in stopped.detail["stopped"]] == [
        ("voice", 3, "5m")
    ]
    assert stopped.at - datetime.fromisoformat(first.detail["personal"]["at"]) >= 3 * h.unit

    await h.advance(4)  # well past 5m
    status = await h.status(eid)
    assert not _personal(status.timeline, "voice")
    assert _alice(h, eid) == [("slack_dm", ALICE_DM), ("sms", ALICE_PHONE)]
    await h.save_history(eid, "personal_steps_ack_stops_voice")


async def test_a_step_the_level_does_not_allow_is_skipped_and_recorded(harness: Harness) -> None:
    h = harness
    policy = _policy(h, ["slack", "slack_dm", "sms"], response=10)  # no voice at level 1
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    first = steps(await h.until(eid, has(StepKind.NOTIFIED)), StepKind.NOTIFIED)[0]
    assert first.detail["skipped"] == [
        "voice: alice's page step 3 (5m): level 1 does not allow voice "
        "(it allows slack, slack_dm, sms)"
    ]
    skipped = first.detail["personal"]["steps"][2]
    assert skipped["outcome"] == "skipped" and "does not allow voice" in skipped["why"]
    await h.advance(6)
    status = await h.until(eid, lambda s: bool(_personal(s.timeline, "sms")))
    assert not _personal(status.timeline, "voice")
    assert _alice(h, eid) == [("slack_dm", ALICE_DM), ("sms", ALICE_PHONE)]


async def test_a_member_without_rules_is_paged_as_before(harness: Harness) -> None:
    """alice has no rule: the level's channels reach her as they always did, and the run
    does not even ask for the patch (bob's rule never runs: he is not paged)."""
    h = harness
    policy = _policy(h, ["slack", "sms"], response=3, rule=None)
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    first = steps(await h.until(eid, has(StepKind.NOTIFIED)), StepKind.NOTIFIED)[0]
    assert "personal" not in first.detail and first.detail["skipped"] == []
    firsts = await h.pages_for(eid, "first", 2)
    assert {(n.channel, n.target, n.member) for n in firsts} == {
        ("slack", "#inventory", None),
        ("sms", ALICE_PHONE, "alice"),
    }
    await h.advance(3)
    await h.until(eid, lambda s: s.level == 2)
    status = await h.status(eid)
    assert steps(status, StepKind.STEPS_STOPPED) == []
    assert len(steps(status, StepKind.NOTIFIED)) == 2  # level 1's page, then level 2's
    assert _alice(h, eid) == [("sms", ALICE_PHONE)]
    assert not await _patches(h, eid, PERSONAL_NOTIFY_RULES)


async def _patches(h: Harness, eid: str, patch: str) -> int:
    """How many patch markers of ``patch`` the run's history holds."""
    events = (await h.handle(eid).fetch_history()).events
    return sum(
        patch.encode() in payload.data
        for e in events
        if e.HasField("marker_recorded_event_attributes")
        for details in e.marker_recorded_event_attributes.details.values()
        for payload in details.payloads
    )


async def _notify(inp: RoutingInput) -> RoutingDecision:
    return RoutingDecision(action="notify", reason="test: notify", headline="notified: test")


async def test_routing_notify_uses_the_members_notify_steps(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    h = await harness_factory(decide=_notify)
    policy = _policy(h, ["slack", "slack_dm", "sms", "voice"], response=3)
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    first = steps(await h.until(eid, has(StepKind.NOTIFIED)), StepKind.NOTIFIED)[0]
    assert first.detail["reason"] == "notify"
    assert first.detail["personal"]["urgency"] == "notify"
    assert {(e["channel"], e["target"]) for e in first.detail["sent"]} == {
        ("slack", "#inventory"),
        ("slack_dm", ALICE_DM),
    }
    await h.advance(6)  # past the page rule's 2m and 5m: they are not this urgency's
    assert _alice(h, eid) == [("slack_dm", ALICE_DM)]
    assert h.channel.for_exception(eid)[0].reason == "notify"


async def test_steps_waiting_when_the_run_continues_as_new_go_out_once_in_the_next(
    harness: Harness,
) -> None:
    h = harness
    policy = _policy(h, ["slack", "slack_dm", "sms", "voice"], response=10)
    eid = (await h.raise_(detection(subject()), policy, history_limit=50)).exception_id
    first = steps(await h.until(eid, has(StepKind.NOTIFIED)), StepKind.NOTIFIED)[0]
    first_run = (await h.handle(eid).describe()).run_id
    for n in range(40):  # notes fill the run until it continues as new (the SMS still waits)
        if (await h.handle(eid).describe()).run_id != first_run:
            break
        await h.update(eid, "add_note", AddNoteInput(actor="alice", note=f"looking {n}"))
    else:
        raise AssertionError("the run never continued as new")
    await h.new_run_ready(eid, first_run)
    assert _alice(h, eid) == [("slack_dm", ALICE_DM)]  # both later steps carried, not sent
    await h.advance(5)
    status = await h.until(eid, lambda s: bool(_personal(s.timeline, "voice")))
    (sms,), (voice,) = _personal(status.timeline, "sms"), _personal(status.timeline, "voice")
    _on_time(sms, first, 2 * h.unit)
    _on_time(voice, first, 5 * h.unit)
    assert status.state is ExceptionState.OPEN
    assert _alice(h, eid) == [
        ("slack_dm", ALICE_DM),
        ("sms", ALICE_PHONE),
        ("voice", ALICE_PHONE),
    ]
