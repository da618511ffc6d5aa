"""Paging through the levels: ack at level 1, exhaustion, time-to-restore, ack timeout."""

from __future__ import annotations

import asyncio

import pytest
from harness import Harness, has, steps, subject
from policy_factory import detection, make_policy

from escalator.workflows.contracts import AcknowledgeInput, ExceptionState, ResolveInput, StepKind

pytestmark = pytest.mark.temporal


async def test_ack_at_level_1_then_resolve(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit)
    raised = await h.raise_(detection(subject()), policy)
    assert raised.outcome == "new"
    eid = raised.exception_id
    status = await h.until(eid, has(StepKind.NOTIFIED))
    assert status.level == 1 and status.state is ExceptionState.OPEN
    assert status.ack_due is not None

    # Level 1 pages the inventory channel and the on-call member by SMS, nobody else.
    pages = h.pages(eid)
    assert {(n.role, n.channel, n.target, n.reason) for n in pages} == {
        ("inventory", "slack", "#inventory", "first"),
        ("inventory", "sms", "+31600000001", "first"),
    }
    assert all(n.level == 1 for n in pages)

    await h.advance(1)  # inside the 3-unit response time
    result = await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice", via="slack"))
    assert "acknowledged by alice" in result.message
    await h.update(
        eid, "resolve", ResolveInput(actor="alice", note="restocked from ams-2", cause="stock_sync")
    )
    status = await h.until(eid, lambda s: s.state is ExceptionState.RESOLVED)
    final = await h.until(eid, has(StepKind.NOTIFIED, 3))  # first page, ack update, resolved

    # Nobody at level 2 was ever paged.
    assert {n.role for n in h.pages(eid)} == {"inventory"}
    assert not steps(final, StepKind.ESCALATED)

    # Recorded timestamps give exact durations.
    detected = steps(final, StepKind.DETECTED)[0]
    acked = steps(final, StepKind.ACKNOWLEDGED)[0]
    resolved = steps(final, StepKind.RESOLVED)[0]
    tta = acked.at - detected.at
    assert h.unit * 1 <= tta <= h.unit * 1 + h.slack
    assert acked.detail["time_to_acknowledge_s"] == pytest.approx(tta.total_seconds(), abs=1e-3)
    assert resolved.actor == "alice" and resolved.detail["cause"] == "stock_sync"
    assert final.resolved_by == "alice" and final.acknowledged_by == "alice"

    # The records activity received the same steps, exactly once each.
    recorded = await _recorded(h, eid, len(final.timeline))
    assert [s.seq for s in recorded] == list(range(1, len(final.timeline) + 1))
    assert [s.at for s in recorded] == [s.at for s in final.timeline]
    await h.save_history(eid, "ack_level1_resolve")


async def _recorded(h: Harness, eid: str, count: int) -> list:
    for _ in range(200):
        found = h.recorder.timeline(eid)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return h.recorder.timeline(eid)


async def test_no_ack_escalates_through_all_levels_to_broadcast(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, response=(3, 2), on_exhausted="broadcast")
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    first = await h.until(eid, has(StepKind.NOTIFIED))
    assert first.ack_due is not None
    level1_due = first.ack_due

    await h.advance(3)
    s2 = await h.until(eid, lambda s: s.level == 2 and len(steps(s, StepKind.NOTIFIED)) >= 2)
    esc = steps(s2, StepKind.ESCALATED)[0]
    assert esc.role == "billing-leads" and esc.level == 2
    assert level1_due <= esc.at <= level1_due + h.slack
    detected = steps(s2, StepKind.DETECTED)[0].at
    assert h.unit * 3 <= esc.at - detected <= h.unit * 3 + h.slack

    # Level 2 is paged; level 1 is kept informed (in place, not paged again).
    by_role = {(n.role, n.reason) for n in h.channel.for_exception(eid)}
    assert ("billing-leads", "escalated") in by_role
    assert ("inventory", "informed") in by_role
    inventory_informed = [
        n for n in h.channel.for_exception(eid) if n.role == "inventory" and n.reason == "informed"
    ]
    assert inventory_informed and inventory_informed[0].replaces is not None

    await h.advance(2)
    s3 = await h.until(eid, lambda s: s.exhausted and len(steps(s, StepKind.NOTIFIED)) >= 3)
    exhausted = steps(s3, StepKind.EXHAUSTED)[0]
    assert h.unit * 2 <= exhausted.at - esc.at <= h.unit * 2 + h.slack
    assert exhausted.detail["on_exhausted"] == "broadcast"
    broadcast = [n for n in h.pages(eid) if n.reason == "broadcast"]
    assert {n.role for n in broadcast} == {"incident-leads"}
    assert s3.state is ExceptionState.OPEN and s3.ack_due is None
    assert "incident-leads" in s3.notified_roles

    # Nothing more is paged however long it stays open; the incident lead can still act.
    await h.advance(5)
    pages_before = len(h.pages(eid))
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="erin"))
    await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
    assert len(h.pages(eid)) == pages_before
    await h.save_history(eid, "exhausted_broadcast")


async def test_exhausted_flag_stays_open_and_flagged(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, response=(2, 2), on_exhausted="flag", repeat=1)
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    for n in range(2, 5):  # level 2, then level 1 and 2 again (repeat: 1)
        await h.advance(2)
        await h.until(eid, has(StepKind.ESCALATED, n - 1))
    await h.advance(2)
    status = await h.until(eid, lambda s: s.exhausted)
    paged = [(n.role, n.reason) for n in h.pages(eid)]
    assert paged.count(("inventory", "first")) == 2  # slack + sms
    assert ("inventory", "repeat") in paged
    assert not any(reason == "broadcast" for _, reason in paged)
    assert status.state is ExceptionState.OPEN
    from escalator.workflows.search_attributes import EXHAUSTED, LEVEL, STATE

    for _ in range(100):  # search attributes follow the workflow task, not the query
        attrs = (await h.handle(eid).describe()).typed_search_attributes
        if attrs.get(EXHAUSTED):
            break
        await asyncio.sleep(0.05)
    assert attrs.get(EXHAUSTED) is True and attrs.get(STATE) == "open" and attrs.get(LEVEL) == 2


async def test_time_to_restore_breach_reminds_and_escalates(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, time_to_restore=4, ack_timeout=None)
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice"))
    acked = await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
    assert acked.restore_due is not None and acked.acknowledged_at is not None
    assert acked.restore_due - acked.acknowledged_at == h.unit * 4

    await h.advance(4)
    status = await h.until(eid, has(StepKind.RESTORE_BREACHED))
    status = await h.until(eid, lambda s: s.level == 2 and has(StepKind.NOTIFIED, 3)(s))
    breach = steps(status, StepKind.RESTORE_BREACHED)[0]
    assert breach.actor == "alice"
    assert h.unit * 4 <= breach.at - acked.acknowledged_at <= h.unit * 4 + h.slack
    assert status.state is ExceptionState.ACKNOWLEDGED  # still alice's, with help on the way
    sent = h.channel.for_exception(eid)
    reminders = [n for n in sent if n.reason == "reminder"]
    assert reminders and {n.member for n in reminders} == {"alice"}
    assert {n.channel for n in reminders} == {"slack_dm", "sms"}  # the person, not the channel
    assert any(n.role == "billing-leads" and n.reason == "escalated" for n in sent)
    await h.save_history(eid, "restore_breach")


async def test_ack_without_progress_reverts_and_renotifies(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, ack_timeout=3, time_to_restore=None)
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="bob"))
    await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
    await h.advance(3)
    status = await h.until(eid, lambda s: s.state is ExceptionState.OPEN and bool(s.ack_due))
    reverted = steps(status, StepKind.ACK_REVERTED)[0]
    assert reverted.actor == "bob"
    assert status.acknowledged_by is None
    assert any(n.reason == "reverted" and n.role == "inventory" for n in h.pages(eid))


async def test_exhausted_repeat_keeps_paging_from_level_1(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, response=(2, 2), on_exhausted="repeat")
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    await h.advance(2)
    await h.until(eid, has(StepKind.ESCALATED))
    await h.advance(2)
    status = await h.until(eid, lambda s: s.exhausted and s.level == 1 and s.ack_due is not None)
    assert steps(status, StepKind.EXHAUSTED)[0].detail["on_exhausted"] == "repeat"
    assert any(n.reason == "repeat" and n.role == "inventory" for n in h.pages(eid))
    await h.advance(2)  # and on to level 2 again
    status = await h.until(eid, lambda s: s.level == 2 and has(StepKind.ESCALATED, 3)(s))
    assert status.state is ExceptionState.OPEN
