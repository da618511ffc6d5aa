"""SMS end to end and the inbound webhook under real signed Twilio requests.

Exception raised → Slack message → "Escalate now" → level 2 texts the on-call
member through the real twilio client (fake Twilio API) → a signed "ACK 1234"
reply to the receiver → workflow acknowledged → Slack message updated.
"""

from __future__ import annotations

import re

import pytest
from fakes.channel_stack import ChannelStack, eventually
from fakes.twilio_api import Sent

from escalator.workflows.contracts import ExceptionState

pytestmark = pytest.mark.temporal

ANNA_SLACK = "U0INV00001"
DIRK_PHONE = "+31612340011"  # billing: a member, but not of a notified role
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def texted(stack: ChannelStack) -> tuple[str, Sent, str]:
    """An exception escalated to level 2 by a Slack click, and the text it sent."""
    xid = await stack.raise_exception()
    message = await stack.message_for(xid)
    escalate = next(
        e
        for b in message.blocks
        for e in b.get("elements", [])
        if e.get("action_id") == "escalator.escalate"
    )
    action = {"action_id": "escalator.escalate", "type": "button", "value": escalate["value"]}
    assert (await stack.post_slack(stack.action_body(ANNA_SLACK, action, message)))[0] == 200
    sms = await eventually(
        lambda: [m for m in stack.twilio.messages if "Reply ACK" in (m.body or "")]
    )
    [sent] = sms
    match = re.search(r"Reply ACK (\d{4}) or RES \1$", sent.body or "")
    assert match, sent.body
    return xid, sent, match[1]


def reply_text(twiml: str) -> str:
    found = re.search(r"<Message>(.*)</Message>", twiml)
    return found[1] if found else ""


async def state(stack: ChannelStack, xid: str) -> ExceptionState:
    return (await stack.status(xid)).state


async def test_sms_ack_end_to_end(stack: ChannelStack) -> None:
    xid, sent, code = await texted(stack)
    assert sent.body and sent.body.startswith("orderToShip: ORD-")
    assert " awaiting_inventory " in sent.body
    inventory = stack.policies.role("inventory")
    on_call = next(m for m in inventory.members if m.phone == sent.to)

    status, twiml = await stack.post_sms(sent.to, f"ACK {code}")
    assert status == 200
    assert reply_text(twiml).startswith(f"OK: acknowledged by {on_call.name}")
    final = await stack.status(xid)
    assert (final.state, final.acknowledged_by) == (ExceptionState.ACKNOWLEDGED, on_call.name)
    message = await stack.message_for(xid)
    await eventually(lambda: f"Acknowledged by <@{on_call.slack_user_id}>" in str(message.blocks))
    assert len(stack.twilio.messages) == 1  # updates are not texted


async def test_sms_resolve_with_a_note(stack: ChannelStack) -> None:
    xid, sent, code = await texted(stack)
    status, twiml = await stack.post_sms(sent.to, f"RES {code} moved stock from NL2")
    assert status == 200 and reply_text(twiml).startswith("OK: resolved by")
    final = await stack.status(xid)
    assert (final.state, final.resolution_note) == (ExceptionState.RESOLVED, "moved stock from NL2")


async def test_wrong_twilio_signature_is_refused(stack: ChannelStack) -> None:
    xid, sent, code = await texted(stack)
    status, text = await stack.post_sms(
        sent.to, f"ACK {code}", signature="bm90LXRoZS1zaWduYXR1cmU="
    )
    assert (status, text) == (403, "bad Twilio signature")
    assert await state(stack, xid) is ExceptionState.OPEN


async def test_unknown_number_is_refused_silently(stack: ChannelStack) -> None:
    xid, _, code = await texted(stack)
    status, twiml = await stack.post_sms("+15005550006", f"ACK {code}")
    assert (status, twiml) == (200, EMPTY)  # no reply to strangers
    assert await state(stack, xid) is ExceptionState.OPEN


async def test_bad_codes_and_bad_replies_are_explained(stack: ChannelStack) -> None:
    xid, sent, code = await texted(stack)
    other = "1000" if code != "1000" else "1001"
    _, twiml = await stack.post_sms(sent.to, f"ACK {other}")
    assert reply_text(twiml) == f"No open exception has code {other}. Nothing was changed."
    _, twiml = await stack.post_sms(sent.to, "yes I am on it")
    assert (
        reply_text(twiml)
        == "Reply ACK &lt;code&gt; to acknowledge or RES &lt;code&gt; &lt;note&gt; to resolve."
    )
    assert await state(stack, xid) is ExceptionState.OPEN


async def test_a_member_of_another_role_is_refused_by_the_workflow(stack: ChannelStack) -> None:
    xid, _, code = await texted(stack)
    _, twiml = await stack.post_sms(DIRK_PHONE, f"ACK {code}")
    assert reply_text(twiml) == "Not done: dirk is not in inventory or incident-leads."
    assert await state(stack, xid) is ExceptionState.OPEN


async def test_a_replayed_sms_is_not_applied_twice(stack: ChannelStack) -> None:
    xid, sent, code = await texted(stack)
    _, first = await stack.post_sms(sent.to, f"ACK {code}", sid="SM" + "1" * 32)
    assert reply_text(first).startswith("OK: acknowledged")
    _, again = await stack.post_sms(sent.to, f"ACK {code}", sid="SM" + "1" * 32)
    assert again == EMPTY
    notes = [s for s in (await stack.status(xid)).timeline if s.kind.value == "note"]
    assert notes == []  # a second ACK would have been recorded as "still on it"
