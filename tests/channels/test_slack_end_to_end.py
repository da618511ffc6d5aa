"""Exception raised → Slack message in the fake → signed click → workflow updated → message updated.

Real Temporal (time-skipping server), real EscalationWorkflow and worker, real
slack_sdk/slack_bolt clients; only the Slack Web API is a local fake.
"""

from __future__ import annotations

import asyncio

import pytest
from fakes.channel_stack import ChannelStack, eventually
from fakes.server import Fault

from escalator.activities.slack_blocks import ACTION_PREFIX
from escalator.workflows.contracts import ExceptionState

pytestmark = pytest.mark.temporal

ANNA = "U0INV00001"  # inventory member in the shipped policies


def button(message_blocks: list[dict], action_id: str) -> dict:
    for block in message_blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no {action_id} in the message")


async def test_acknowledge_click_acknowledges_and_updates_the_message(stack: ChannelStack) -> None:
    xid = await stack.raise_exception()
    message = await stack.message_for(xid)
    ack = button(message.blocks, ACTION_PREFIX + "ack")

    status, _ = await stack.post_slack(
        stack.action_body(
            ANNA, {"action_id": ack["action_id"], "type": "button", "value": ack["value"]}, message
        )
    )
    assert status == 200

    async def acknowledged() -> bool:
        s = await stack.status(xid)
        return s.state is ExceptionState.ACKNOWLEDGED and s.acknowledged_by == "anna"

    await eventually(acknowledged)
    await eventually(lambda: "Acknowledged by <@U0INV00001>" in str(message.blocks))
    assert message.edits >= 1
    assert not any(
        e["action_id"] == "escalator.ack"
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    )
    thread = await eventually(lambda: stack.slack.thread(message.channel, message.ts))
    assert any("Acknowledged by <@U0INV00001>" in m.text for m in thread)
    assert stack.slack.responses == []  # no ephemeral refusal
    assert len(stack.slack.top_level("C0INVENTORY")) == 1  # updated in place, not a new message


async def test_a_repeated_detection_does_not_post_a_second_message(stack: ChannelStack) -> None:
    xid = await stack.raise_exception("ORD-REPEAT-" + stack.task_queue[-8:])
    subject = xid.rsplit(":", 1)[1]
    message = await stack.message_for(xid)
    assert await stack.raise_exception(subject) == xid

    async def counted_twice() -> bool:
        return (await stack.status(xid)).occurrences == 2

    await eventually(counted_twice)
    await asyncio.sleep(0.3)  # give a wrong second post the chance to appear
    mine = [
        m
        for m in stack.slack.top_level("C0INVENTORY")
        if (m.metadata or {}).get("event_payload", {}).get("exception_id") == xid
    ]
    assert mine == [message]


async def test_a_retried_notify_activity_sends_nothing_twice(stack: ChannelStack) -> None:
    """Level 2 pages by DM and SMS; Twilio fails the whole first activity attempt (its
    own retries included), Temporal retries the activity: the DM must not repeat."""
    xid = await stack.raise_exception()
    message = await stack.message_for(xid)
    stack.twilio.inject("Messages", *[Fault(status=500)] * 4)
    escalate = button(message.blocks, ACTION_PREFIX + "escalate")
    action = {"action_id": escalate["action_id"], "type": "button", "value": escalate["value"]}
    assert (await stack.post_slack(stack.action_body(ANNA, action, message)))[0] == 200

    await eventually(lambda: stack.twilio.messages, within=20)
    assert len(stack.twilio.calls_to("Messages")) == 5  # 4 refused in attempt 1, 1 in attempt 2
    dms = [
        m
        for (channel, _), m in stack.slack.messages.items()
        if channel.startswith("D") and not m.thread_ts
    ]
    assert len(dms) == 1
    assert len(stack.twilio.messages) == 1
