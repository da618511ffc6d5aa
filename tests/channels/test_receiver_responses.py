"""Owner responses as workflow updates when the workflow cannot answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import Client

from escalator.client import with_pydantic
from escalator.policies.snapshot import snapshot
from escalator.policy_source import load_configured_policies
from escalator.receiver.responses import ResponseApplier
from escalator.workflows.contracts import ESCALATION_WORKFLOW, Detection, EscalationInput

pytestmark = pytest.mark.temporal


async def test_no_worker_means_a_clear_answer_not_a_hang(client: Client) -> None:
    now = datetime.now(UTC)
    detection = Detection(
        journey="orderToShip",
        rule="awaiting_inventory",
        subject=f"ORD-{uuid.uuid4().hex[:8]}",
        onset=now,
    )
    policy = snapshot(load_configured_policies(), "awaiting_inventory", now)
    handle = await with_pydantic(client).start_workflow(
        ESCALATION_WORKFLOW,
        EscalationInput(detection=detection, policy=policy),
        id=detection.workflow_id,
        task_queue=f"nobody-polls-{uuid.uuid4()}",
    )
    try:
        applier = ResponseApplier(client, answer_within=timedelta(seconds=1))
        outcome = await applier.acknowledge(detection.workflow_id, "anna", "slack")
        assert not outcome.ok
        assert outcome.message.startswith(
            "escalator did not answer within 1 s (is a worker running?)"
        )
    finally:
        await handle.terminate("test done")


async def test_an_unknown_exception_id(client: Client) -> None:
    outcome = await ResponseApplier(client).resolve("exc:nope:nope:1", "anna", "done", None, "sms")
    assert (outcome.ok, outcome.message) == (False, "no open exception exc:nope:nope:1")


async def test_an_empty_note_is_refused_before_temporal(client: Client) -> None:
    outcome = await ResponseApplier(client).resolve("exc:any", "anna", "   ", None, "slack")
    assert (outcome.ok, outcome.message) == (False, "a resolution needs a note: what was done")
