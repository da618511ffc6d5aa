"""Answers that arrive before the first page (patch ``early-answer``).

An incident lead may answer an exception as soon as it is detected, while its playbook
still runs (or while it waits for support hours): nobody has been paged yet. Such an
answer decides the first page: a reassign sends it to the reassigned role (and the
level-1 role is not paged at all); an acknowledgement means nobody is paged, and the
owning role is told once that someone has it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from harness import Harness, has, steps, subject
from policy_factory import detection, make_policy

from escalator.policies.playbooks import PlaybookStep
from escalator.workflows.activity_contracts import ActionResult
from escalator.workflows.contracts import (
    AcknowledgeInput,
    Detection,
    ExceptionState,
    ReassignInput,
    StepKind,
)

pytestmark = pytest.mark.temporal

PLAYBOOK = [PlaybookStep(name="refresh-stock", type="automated", action="refresh")]


class Gate:
    """A playbook action that runs until the test lets it finish: the exception is
    detected and routed, and nobody has been paged yet."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def refresh(self, d: Detection, params: Mapping[str, Any]) -> ActionResult:
        self.started.set()
        await self.release.wait()
        return ActionResult(ok=True, detail="nothing changed")


async def _in_playbook(harness_factory: Any) -> tuple[Harness, Gate, str]:
    gate = Gate()
    h: Harness = await harness_factory(actions={"refresh": gate.refresh})
    policy = make_policy(h.unit, playbook=PLAYBOOK)
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    await asyncio.wait_for(gate.started.wait(), timeout=15)
    return h, gate, eid


async def test_reassign_before_the_first_page_sends_it_to_the_reassigned_role(
    harness_factory: Any,
) -> None:
    h, gate, eid = await _in_playbook(harness_factory)
    assert not h.channel.for_exception(eid)  # nobody told yet

    result = await h.update(eid, "reassign", ReassignInput(actor="erin", role="it-ops"))
    assert result.message == "reassigned from inventory to it-ops"
    gate.release.set()

    status = await h.until(eid, has(StepKind.NOTIFIED))
    await asyncio.sleep(0.5)  # a second page (the old bug) would follow the first at once
    status = await h.status(eid)
    pages = h.pages(eid)
    # it-ops has no Slack channel and carol no phone: the console target keeps the page.
    assert [(n.role, n.channel, n.member) for n in pages] == [("it-ops", "console", "carol")]
    assert not [n for n in h.channel.for_exception(eid) if n.role == "inventory"]
    assert status.owner_role == "it-ops" and status.level == 1
    assert status.notified_roles == ["it-ops"]
    assert status.state is ExceptionState.OPEN and status.ack_due is not None
    assert len(steps(status, StepKind.NOTIFIED)) == 1
    await h.save_history(eid, "early_reassign")


async def test_acknowledgement_before_the_first_page_pages_nobody(harness_factory: Any) -> None:
    h, gate, eid = await _in_playbook(harness_factory)
    result = await h.update(eid, "acknowledge", AcknowledgeInput(actor="erin"))
    assert result.message.startswith("acknowledged by erin")
    gate.release.set()

    status = await h.until(eid, has(StepKind.NOTIFIED))
    await asyncio.sleep(0.5)
    status = await h.status(eid)
    assert h.pages(eid) == []  # nobody woken for an exception someone already has
    told = h.channel.for_exception(eid)
    # The owning role hears it once, on its channel, as an update: not a page.
    assert [(n.role, n.channel, n.target, n.reason) for n in told] == [
        ("inventory", "slack", "#inventory", "informed")
    ]
    assert told[0].status.state is ExceptionState.ACKNOWLEDGED
    assert status.state is ExceptionState.ACKNOWLEDGED and status.acknowledged_by == "erin"
    assert status.notified_roles == ["inventory"] and status.level == 1
    assert status.restore_due is not None  # the time to restore runs as after any ack
    assert len(steps(status, StepKind.NOTIFIED)) == 1
    await h.save_history(eid, "early_acknowledge")
