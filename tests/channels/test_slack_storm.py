"""The storm's grouped message in Slack: Acknowledge all and Resolve all, one click each.

Real Temporal (time-skipping server), real worker and receiver, real slack_sdk/slack_bolt
against the fake Slack API, signed requests. Each test storms a rule of its own name,
so storms of earlier tests (on their finished task queues) are never joined.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes.channel_stack import ChannelStack, eventually, slack_headers, view_submission_body
from fakes.slack_api import Message

from escalator.activities.storm_blocks import STORM_ACK, STORM_RESOLVE
from escalator.client import raise_exception, with_pydantic
from escalator.policies.snapshot import snapshot
from escalator.policies.storm import StormControl
from escalator.workflows.contracts import Detection, ExceptionState, StepKind
from escalator.workflows.storm_contracts import StormState, storm_id

pytestmark = pytest.mark.temporal

ANNA = "U0INV00001"  # inventory
DIRK = "U0BIL00001"  # billing: not told by an inventory storm, not an incident lead
GROUPED = 4  # threshold 1: the first exception pages alone, the next 4 join the storm


async def storm(stack: ChannelStack) -> tuple[str, list[str], Message]:
    """A storm of its own rule; returns the storm id, its grouped members, its message."""
    rule = f"awaiting_inventory_{uuid.uuid4().hex[:6]}"
    base = snapshot(stack.policies, "awaiting_inventory", datetime.now(UTC))
    control = StormControl(threshold=1, hold_down=None, update_every=timedelta(seconds=1))
    policy = base.model_copy(
        update={
            "rule": base.rule.model_copy(update={"name": rule}),
            "escalation": base.escalation.model_copy(update={"storm": control}),
        }
    )
    ids = []
    for i in range(GROUPED + 1):
        detection = Detection(
            journey="orderToShip", rule=rule, subject=f"ORD-{i}", onset=datetime.now(UTC)
        )
        raised = await raise_exception(
            stack.client, detection, policy=policy, task_queue=stack.task_queue
        )
        ids.append(raised.exception_id)
    sid = storm_id("orderToShip", rule, "inventory")
    message = await stack.message_for(sid)
    await eventually(lambda: f"({GROUPED})" in message.blocks[0]["text"]["text"])
    return sid, ids[1:], message


def click(message: Message, action_id: str) -> dict[str, Any]:
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return {"action_id": action_id, "type": "button", "value": element["value"]}
    raise AssertionError(f"no {action_id} in {message.blocks}")


async def storm_state(stack: ChannelStack, sid: str) -> StormState:
    handle = with_pydantic(stack.client).get_workflow_handle(sid)
    return await handle.query("state", result_type=StormState)


async def test_acknowledge_all_takes_the_storm_and_every_member(stack: ChannelStack) -> None:
    sid, members, message = await storm(stack)
    ack_all = click(message, STORM_ACK)
    click(message, STORM_RESOLVE)  # both buttons are there

    # A forged click (wrong signing secret) is refused before anything reads it.
    forged = stack.action_body(ANNA, ack_all, message)
    status, _ = await stack.post_slack(forged, slack_headers(forged, secret="not-the-secret"))
    assert status == 401
    # A member of a role the storm did not tell is told why, ephemerally.
    status, _ = await stack.post_slack(stack.action_body(DIRK, ack_all, message))
    assert status == 200
    refusal = await eventually(lambda: stack.slack.responses)
    assert refusal[0]["response_type"] == "ephemeral"
    assert "dirk is not in inventory or incident-leads" in refusal[0]["text"]
    await asyncio.sleep(0.2)
    assert (await storm_state(stack, sid)).acknowledged_by is None
    assert [(await stack.status(x)).state for x in members] == [ExceptionState.OPEN] * GROUPED

    started = time.monotonic()
    status, _ = await stack.post_slack(stack.action_body(ANNA, ack_all, message))
    assert status == 200 and time.monotonic() - started < 3
    # Slack was answered before the work: the result is not there yet, it follows.
    assert len(stack.slack.responses) == 1
    answer = await eventually(
        lambda: stack.slack.responses if len(stack.slack.responses) == 2 else None
    )
    assert f"{GROUPED} of {GROUPED} open exceptions acknowledged by anna" in answer[1]["text"]
    assert (await storm_state(stack, sid)).acknowledged_by == "anna"
    for x in members:
        s = await stack.status(x)
        assert (s.state, s.acknowledged_by) == (ExceptionState.ACKNOWLEDGED, "anna")
    # The message now says who took it and offers only Resolve all.
    await eventually(lambda: "acknowledged by anna" in message.blocks[1]["text"]["text"])
    with pytest.raises(AssertionError):
        click(message, STORM_ACK)
    click(message, STORM_RESOLVE)


async def test_resolve_all_asks_for_a_note_then_resolves_every_member(stack: ChannelStack) -> None:
    _, members, message = await storm(stack)
    status, _ = await stack.post_slack(
        stack.action_body(ANNA, click(message, STORM_RESOLVE), message)
    )
    assert status == 200
    view = (await eventually(lambda: stack.slack.views))[0]
    modal = view["view"] if isinstance(view["view"], dict) else json.loads(view["view"])

    def submission(user: str, note: str) -> str:
        return view_submission_body(
            user,
            modal["callback_id"],
            modal["private_metadata"],
            {"note": {"note": {"type": "plain_text_input", "value": note}}},
        )

    status, text = await stack.post_slack(submission(DIRK, "not mine"))
    assert status == 200
    assert json.loads(text) == {
        "response_action": "errors",
        "errors": {"note": "dirk is not in inventory or incident-leads"},
    }
    status, text = await stack.post_slack(submission(ANNA, "warehouse NL2 back online"))
    assert status == 200 and text == ""  # the modal closes at once
    told = await eventually(lambda: stack.slack.ephemerals)
    assert told[0]["user"] == ANNA and told[0]["channel"] == "C0INVENTORY"
    assert f"{GROUPED} of {GROUPED} open exceptions resolved by anna" in told[0]["text"]
    for x in members:
        s = await stack.status(x)
        assert (s.state, s.resolved_by, s.resolution_note) == (
            ExceptionState.RESOLVED,
            "anna",
            "warehouse NL2 back online",
        )
    # Every member told the storm; its message counts them and drops the buttons.
    await eventually(lambda: f"{GROUPED} resolved, 0 open" in message.blocks[1]["text"]["text"])
    assert not [b for b in message.blocks if b["type"] == "actions"]


async def test_resolve_all_records_cause_and_false_alarm_on_every_member(
    stack: ChannelStack,
) -> None:
    """The Resolve-all modal asks what the one-exception modal asks; every member's
    resolution records the cause code and "not real", as one click on each would."""
    _, members, message = await storm(stack)
    await stack.post_slack(stack.action_body(ANNA, click(message, STORM_RESOLVE), message))
    view = (await eventually(lambda: stack.slack.views))[0]
    modal = view["view"] if isinstance(view["view"], dict) else json.loads(view["view"])
    blocks = {b.get("block_id"): b for b in modal["blocks"]}
    assert {o["value"] for o in blocks["real"]["element"]["options"]} == {"real", "false_alarm"}
    assert blocks["cause"]["optional"] and blocks["real"]["optional"]
    body = view_submission_body(
        ANNA,
        modal["callback_id"],
        modal["private_metadata"],
        {
            "note": {"note": {"type": "plain_text_input", "value": "scanner glitch"}},
            "cause": {"cause": {"type": "plain_text_input", "value": " scanner "}},
            "real": {
                "real": {
                    "type": "radio_buttons",
                    "selected_option": {"value": "false_alarm"},
                }
            },
        },
    )
    status, text = await stack.post_slack(body)
    assert (status, text) == (200, "")
    told = await eventually(lambda: stack.slack.ephemerals)
    assert (
        f"{GROUPED} of {GROUPED} open exceptions resolved by anna (false alarms, cause scanner)"
        in told[0]["text"]
    ), told
    for x in members:
        s = await stack.status(x)
        [step] = [t for t in s.timeline if t.kind is StepKind.RESOLVED]
        assert s.state is ExceptionState.RESOLVED
        assert (step.detail["cause"], step.detail["real"], step.detail["note"]) == (
            "scanner",
            False,
            "scanner glitch",
        )
