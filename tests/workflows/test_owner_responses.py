"""Owner responses: snooze, reassign, refusals, escalate now, notes, apply_latest_policy."""

from __future__ import annotations

import pytest
from harness import Harness, has, steps, subject
from policy_factory import detection, make_policy
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from escalator.workflows.contracts import (
    AcknowledgeInput,
    AddNoteInput,
    ApplyPolicyInput,
    EscalateNowInput,
    ExceptionState,
    ReassignInput,
    ResolveInput,
    SnoozeInput,
    StepKind,
)

pytestmark = pytest.mark.temporal


async def refused(h: Harness, eid: str, name: str, inp: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.update(eid, name, inp)
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Refused"
    return cause.message


async def test_snooze_holds_paging_until_it_ends(harness: Harness) -> None:
    h = harness
    eid = (await h.raise_(detection(subject()), make_policy(h.unit, max_snooze=6))).exception_id
    status = await h.until(eid, has(StepKind.NOTIFIED))
    now = steps(status, StepKind.NOTIFIED)[0].at

    # Past the policy bound: refused, with the bound in the reason; nothing recorded.
    reason = await refused(h, eid, "snooze", SnoozeInput(actor="alice", until=now + h.unit * 30))
    assert "past the policy bound of" in reason and "alice" not in reason
    assert not steps(await h.status(eid), StepKind.SNOOZED)

    await h.update(eid, "snooze", SnoozeInput(actor="alice", until=now + h.unit * 5))
    snoozed = await h.until(eid, lambda s: s.state is ExceptionState.SNOOZED)
    assert snoozed.snoozed_until == now + h.unit * 5 and snoozed.ack_due is None
    await h.advance(4)  # past the 3-unit response time, still snoozed: no escalation
    assert (await h.status(eid)).level == 1
    assert not steps(await h.status(eid), StepKind.ESCALATED)

    await h.advance(2)  # the snooze ends: level 1 is reminded, a new ack window starts
    woke = await h.until(eid, lambda s: s.state is ExceptionState.OPEN and s.ack_due is not None)
    reminders = [n for n in h.pages(eid) if n.reason == "reminder"]
    assert reminders and {n.role for n in reminders} == {"inventory"}
    assert woke.level == 1
    assert woke.ack_due is not None
    assert h.unit * 3 <= woke.ack_due - (now + h.unit * 5) <= h.unit * 3 + h.slack
    await h.save_history(eid, "snooze")


async def test_reassign_pages_the_new_role_and_lets_it_respond(harness: Harness) -> None:
    h = harness
    eid = (await h.raise_(detection(subject()), make_policy(h.unit))).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))

    # carol (it-ops) was never told: she may not act yet.
    reason = await refused(h, eid, "acknowledge", AcknowledgeInput(actor="carol"))
    assert reason == "carol is not in inventory or incident-leads"

    reason = await refused(h, eid, "reassign", ReassignInput(actor="bob", role="warehouse"))
    assert "role warehouse is not part of this exception's policy" in reason
    result = await h.update(eid, "reassign", ReassignInput(actor="bob", role="it-ops"))
    assert result.message == "reassigned from inventory to it-ops"
    status = await h.until(eid, lambda s: "it-ops" in s.notified_roles)
    assert status.owner_role == "it-ops" and status.state is ExceptionState.OPEN
    reassigned = await h.pages_for(eid, "reassigned")
    # it-ops has no Slack channel and carol no phone: the console target keeps the page.
    assert [(n.role, n.channel, n.member) for n in reassigned] == [("it-ops", "console", "carol")]
    step = steps(status, StepKind.REASSIGNED)[0]
    assert step.actor == "bob" and step.detail["previous"] == "inventory"

    await h.update(eid, "acknowledge", AcknowledgeInput(actor="carol"))
    acked = await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
    assert acked.acknowledged_by == "carol"
    await h.save_history(eid, "reassign")


async def test_unauthorized_and_repeated_responses_are_refused(harness: Harness) -> None:
    h = harness
    eid = (await h.raise_(detection(subject()), make_policy(h.unit))).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    assert (
        await refused(h, eid, "resolve", ResolveInput(actor="mallory", note="x"))
        == "mallory is not in inventory or incident-leads"
    )
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice"))
    reason = await refused(h, eid, "acknowledge", AcknowledgeInput(actor="bob"))
    assert reason.startswith("already acknowledged by alice at ")
    # The incident lead may always step in.
    await h.update(eid, "resolve", ResolveInput(actor="erin", note="fixed upstream"))
    status = await h.until(eid, lambda s: s.state is ExceptionState.RESOLVED)
    assert status.resolved_at is not None
    reason = await refused(h, eid, "resolve", ResolveInput(actor="alice", note="me too"))
    assert reason.startswith("already resolved by erin at ")
    assert status.resolved_at.strftime("%H:%M") in reason
    # Nothing refused reached the timeline.
    final = await h.status(eid)
    assert [s.actor for s in steps(final, StepKind.RESOLVED)] == ["erin"]
    assert [s.actor for s in steps(final, StepKind.ACKNOWLEDGED)] == ["alice"]


async def test_escalate_now_and_notes(harness: Harness) -> None:
    h = harness
    eid = (await h.raise_(detection(subject()), make_policy(h.unit))).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    await h.update(eid, "add_note", AddNoteInput(actor="alice", note="supplier called"))
    await h.update(eid, "escalate_now", EscalateNowInput(actor="alice"))
    status = await h.until(eid, lambda s: s.level == 2 and has(StepKind.NOTIFIED, 2)(s))
    esc = steps(status, StepKind.ESCALATED)[0]
    assert esc.actor == "alice" and esc.detail["cause"] == "escalated by alice"
    notified = steps(status, StepKind.NOTIFIED)
    assert esc.at - notified[0].at < h.unit  # at once, not after the response time
    assert steps(status, StepKind.NOTE)[0].detail["note"] == "supplier called"
    assert any(n.role == "billing-leads" and n.reason == "escalated" for n in h.pages(eid))


async def test_apply_latest_policy_moves_a_running_exception(harness: Harness) -> None:
    h = harness
    v1 = make_policy(h.unit, version="v1", response=(10, 10))
    eid = (await h.raise_(detection(subject()), v1)).exception_id
    first = await h.until(eid, has(StepKind.NOTIFIED))
    assert first.ack_due is not None
    started = steps(first, StepKind.ROUTED)[0].at

    # A policy for another rule is refused.
    other = make_policy(h.unit, version="v2").model_copy(
        update={"rule": v1.rule.model_copy(update={"name": "payment_pending"})}
    )
    reason = await refused(
        h, eid, "apply_latest_policy", ApplyPolicyInput(actor="erin", policy=other)
    )
    assert "for rule payment_pending" in reason

    # v2 wants an answer in 2 units and pages incident-leads at level 2.
    v2 = make_policy(h.unit, version="v2", response=(2, 5), roles=("inventory", "incident-leads"))
    result = await h.update(eid, "apply_latest_policy", ApplyPolicyInput(actor="erin", policy=v2))
    assert result.message == "now on policy version v2 (was v1)"
    moved = await h.until(eid, has(StepKind.POLICY_APPLIED))
    assert moved.policy_version == "v2"
    assert moved.ack_due is not None
    assert moved.ack_due - started == h.unit * 2  # same level, timed by the new policy
    reason = await refused(h, eid, "apply_latest_policy", ApplyPolicyInput(actor="erin", policy=v2))
    assert reason == "already on policy version v2"

    await h.advance(2)
    status = await h.until(eid, lambda s: s.level == 2 and has(StepKind.NOTIFIED, 2)(s))
    assert steps(status, StepKind.ESCALATED)[0].role == "incident-leads"
    assert {n.role for n in h.pages(eid) if n.reason == "escalated"} == {"incident-leads"}
    await h.save_history(eid, "apply_latest_policy")
