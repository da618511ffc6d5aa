"""Detections of the same exception, and conditions that clear without anyone paged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from harness import Harness, has, steps, subject
from policy_factory import detection, make_policy
from temporalio.client import WorkflowExecutionStatus

from escalator.client import clear_condition
from escalator.policies.playbooks import PlaybookStep
from escalator.workflows.activity_contracts import ActionResult, RoutingDecision, RoutingInput
from escalator.workflows.contracts import (
    AcknowledgeInput,
    Detection,
    ExceptionState,
    ExceptionStatus,
    OccurredAgain,
    ResolveInput,
    StepKind,
)

pytestmark = pytest.mark.temporal


async def test_duplicate_detection_adds_an_occurrence_not_a_workflow(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit)
    case = subject()
    first = await h.raise_(detection(case, waiting_for="sku-42"), policy)
    await h.until(first.exception_id, has(StepKind.NOTIFIED))
    run_id = (await h.handle(first.exception_id).describe()).run_id

    again = await h.raise_(detection(case, waiting_for="sku-42", qty=3), policy)
    assert again.exception_id == first.exception_id
    assert (again.outcome, again.occurrences) == ("duplicate", 2)
    # The very same detection sent again (a retried call) is not a new occurrence.
    retry = await h.raise_(detection(case, waiting_for="sku-42", qty=3), policy)
    assert (retry.outcome, retry.occurrences) == ("duplicate", 2)

    status = await h.until(first.exception_id, has(StepKind.OCCURRED_AGAIN))
    assert status.payload == {"waiting_for": "sku-42", "qty": 3}
    assert (await h.handle(first.exception_id).describe()).run_id == run_id
    firsts = [n for n in h.pages(first.exception_id) if n.reason == "first"]
    assert len(firsts) == 2  # slack + sms, once
    await h.save_history(first.exception_id, "duplicate")


async def test_identical_detection_is_idempotent(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit)
    d = detection(subject())
    assert (await h.raise_(d, policy)).outcome == "new"
    again = await h.raise_(d, policy)
    assert (again.outcome, again.occurrences) == ("new", 1)


async def _resolve(h: Harness, eid: str) -> ExceptionStatus:
    await h.until(eid, has(StepKind.NOTIFIED))
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice"))
    await h.update(eid, "resolve", ResolveInput(actor="alice", note="restocked"))
    return await h.until(eid, lambda s: s.state is ExceptionState.RESOLVED)


async def test_detection_within_reopen_window_reopens_as_rework(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, reopen_window=6)
    case = subject()
    first = await h.raise_(detection(case), policy)
    eid = first.exception_id
    resolved = await _resolve(h, eid)
    old_run = (await h.handle(eid).describe()).run_id
    await h.advance(2)

    reopened = await h.raise_(detection(case, waiting_for="sku-43"), policy)
    assert reopened.outcome == "reopened"
    status = await h.until(eid, lambda s: s.timeline[0].run_id != old_run and s.level == 1)
    new_run = (await h.handle(eid).describe()).run_id
    assert new_run != old_run
    reopen = steps(status, StepKind.REOPENED)[0]
    assert reopen.detail == {"reopened_from": old_run, "rework_count": 1}
    assert steps(status, StepKind.DETECTED)[0].detail["reopened_from"] == old_run
    assert status.state is ExceptionState.OPEN and status.payload == {"waiting_for": "sku-43"}
    # The first run's history links to the new one (continue-as-new).
    old = h.client.get_workflow_handle(eid, run_id=old_run)
    assert (await old.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    # Both runs' steps are recorded under the same exception id.
    runs = {s.run_id for s in h.recorder.timeline(eid)}
    assert {old_run} <= runs
    assert resolved.resolved_at is not None
    firsts = [n for n in h.pages(eid) if n.reason == "first"]
    assert len(firsts) == 4  # the original page and the reopened one (slack + sms each)


async def test_detection_after_reopen_window_is_a_new_exception(harness: Harness) -> None:
    h = harness
    policy = make_policy(h.unit, reopen_window=2)
    case = subject()
    eid = (await h.raise_(detection(case), policy)).exception_id
    await _resolve(h, eid)
    old_run = (await h.handle(eid).describe()).run_id
    await h.advance(3)
    await h.client.get_workflow_handle(eid, run_id=old_run).result()  # the run ended
    again = await h.raise_(detection(case), policy)
    assert again.outcome == "new"
    status = await h.until(eid, has(StepKind.NOTIFIED))
    assert not steps(status, StepKind.REOPENED)
    assert steps(status, StepKind.DETECTED)[0].detail["reopened_from"] is None
    assert status.timeline[0].run_id != old_run


async def test_condition_cleared_by_detector_auto_resolves(harness: Harness) -> None:
    h = harness
    d = detection(subject())
    eid = (await h.raise_(d, make_policy(h.unit))).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    assert await clear_condition(h.client, d.journey, d.rule, d.subject, reason="order shipped")
    status = await h.until(eid, lambda s: s.state is ExceptionState.RESOLVED)
    assert status.resolved_by == "detector" and status.resolution_note == "order shipped"
    resolved = steps(status, StepKind.RESOLVED)[0]
    assert resolved.detail["cause"] == "condition_cleared"
    final = await h.until(eid, has(StepKind.NOTIFIED, 2))
    assert any(
        n.reason == "resolved" and n.role == "inventory" for n in h.channel.for_exception(eid)
    )
    assert steps(final, StepKind.NOTIFIED)[-1].detail["reason"] == "resolved"
    assert not await clear_condition(h.client, d.journey, d.rule, "no-such-order")
    await h.save_history(eid, "condition_cleared")


async def test_playbook_fix_auto_resolves_without_paging(harness_factory: Any) -> None:
    calls: list[str] = []
    h_box: list[Harness] = []

    async def retry_pick(d: Detection, params: Mapping[str, Any]) -> ActionResult:
        calls.append(f"{d.subject}:{params['warehouse']}")
        h_box[0].conditions.clear(d.workflow_id, "stock found in ams-2")
        return ActionResult(ok=True, detail="re-picked from ams-2")

    async def noop(d: Detection, params: Mapping[str, Any]) -> ActionResult:
        return ActionResult(ok=True, detail="nothing changed")

    h: Harness = await harness_factory(actions={"retry_pick": retry_pick, "refresh": noop})
    h_box.append(h)
    playbook = [
        PlaybookStep(name="refresh-stock", type="automated", action="refresh"),
        PlaybookStep(
            name="repick", type="automated", action="retry_pick", params={"warehouse": "ams-2"}
        ),
        PlaybookStep(name="call-supplier", type="manual", runbook="https://runbooks.example/s"),
    ]
    d = detection(subject())
    eid = (await h.raise_(d, make_policy(h.unit, playbook=playbook))).exception_id
    status = await h.until(eid, lambda s: s.state is ExceptionState.RESOLVED)
    assert calls == [f"{d.subject}:ams-2"]
    assert [s.detail["step"] for s in steps(status, StepKind.PLAYBOOK_STEP)] == [
        "refresh-stock",
        "repick",
    ]
    assert status.resolved_by == "playbook:repick"
    assert steps(status, StepKind.CONDITION_CLEARED)[0].detail["detail"] == "stock found in ams-2"
    assert not steps(status, StepKind.NOTIFIED) and h.channel.for_exception(eid) == []
    assert status.level == 0 and status.notified_roles == []
    await h.save_history(eid, "playbook_auto_resolve")


async def test_playbook_that_does_not_fix_pages_after_it(harness: Harness) -> None:
    h = harness
    playbook = [PlaybookStep(name="unknown-fix", type="automated", action="not_registered")]
    eid = (
        await h.raise_(detection(subject()), make_policy(h.unit, playbook=playbook))
    ).exception_id
    status = await h.until(eid, has(StepKind.NOTIFIED))
    step = steps(status, StepKind.PLAYBOOK_STEP)[0]
    assert step.detail["ok"] is False and "no playbook action named" in step.detail["result"]
    kinds = [s.kind for s in status.timeline]
    assert kinds.index(StepKind.PLAYBOOK_STEP) < kinds.index(StepKind.NOTIFIED)


async def test_occurred_again_signal_counts_and_refreshes(harness: Harness) -> None:
    h = harness
    case = subject()
    eid = (await h.raise_(detection(case), make_policy(h.unit))).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    later = detection(case, waiting_for="sku-99")
    await h.handle(eid).signal("occurred_again", OccurredAgain(detection=later))
    status = await h.until(eid, lambda s: s.occurrences == 2)
    assert status.payload == {"waiting_for": "sku-99"}
    assert steps(status, StepKind.OCCURRED_AGAIN)[0].detail["occurrences"] == 2


async def test_ticket_routing_interrupts_nobody_and_never_escalates(
    harness_factory: Any,
) -> None:
    async def ticket(inp: RoutingInput) -> RoutingDecision:
        return RoutingDecision(action="ticket", reason="burn rate 0.4: within budget")

    h: Harness = await harness_factory(decide=ticket)
    eid = (await h.raise_(detection(subject()), make_policy(h.unit))).exception_id
    status = await h.until(eid, has(StepKind.ROUTED))
    routed = steps(status, StepKind.ROUTED)[0]
    assert (routed.detail["decision"], routed.detail["reason"]) == (
        "ticket",
        "burn rate 0.4: within budget",
    )
    await h.advance(10)  # far past every response time
    status = await h.status(eid)
    # Routing v2 (docs/routing.md): a ticket waits in the role's digest, nobody is told now.
    assert h.channel.for_exception(eid) == [] and status.ack_due is None
    assert status.level == 1 and not steps(status, StepKind.ESCALATED)
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice"))
    await h.until(eid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
