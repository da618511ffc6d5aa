"""The receiver's Slack side under real signed HTTP requests.

Each request gets the right answer and changes nothing it should not: the
exception's state is read back from the real workflow after every refusal.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from typing import Any

import pytest
from fakes.channel_stack import ChannelStack, eventually, slack_headers, view_submission_body
from fakes.slack_api import Message

from escalator.activities.button_values import ButtonValue
from escalator.receiver.listing import list_open
from escalator.workflows.contracts import ExceptionState

pytestmark = pytest.mark.temporal

ANNA, DIRK, STRANGER = "U0INV00001", "U0BIL00001", "U0STRANGER"


def element(message: Message, action_id: str) -> dict[str, Any]:
    for block in message.blocks:
        for e in block.get("elements", []):
            if e.get("action_id") == action_id:
                return e
    raise AssertionError(f"no {action_id} in the message")


def click(message: Message, action_id: str, option: int | None = None) -> dict[str, Any]:
    e = element(message, action_id)
    if option is None:
        return {"action_id": action_id, "type": "button", "value": e["value"]}
    return {
        "action_id": action_id,
        "type": "static_select",
        "selected_option": e["options"][option],
    }


async def opened(stack: ChannelStack) -> tuple[str, Message]:
    xid = await stack.raise_exception()
    return xid, await stack.message_for(xid)


async def assert_unchanged(stack: ChannelStack, xid: str, message: Message) -> None:
    status = await stack.status(xid)
    assert status.state is ExceptionState.OPEN and status.acknowledged_by is None
    assert message.edits == 0


async def test_healthz(stack: ChannelStack) -> None:
    async with stack.http.get(f"{stack.url}/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"ok": True, "slack": True, "sms": True}


async def test_bad_signature_is_refused(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    body = stack.action_body(ANNA, click(message, "escalator.ack"), message)
    forged = slack_headers(body, secret="not-the-signing-secret")
    status, text = await stack.post_slack(body, forged)
    assert (status, text) == (401, "bad Slack signature")
    tampered = slack_headers(body)
    status, _ = await stack.post_slack(body.replace("U0INV00001", "U0INV00002"), tampered)
    assert status == 401
    await assert_unchanged(stack, xid, message)


async def test_timestamp_older_than_five_minutes_is_refused(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    body = stack.action_body(ANNA, click(message, "escalator.ack"), message)
    stale = slack_headers(body, ts=int(time.time()) - 5 * 60 - 30)  # correctly signed, but old
    status, text = await stack.post_slack(body, stale)
    assert (status, text) == (401, "Slack timestamp is more than five minutes off")
    await assert_unchanged(stack, xid, message)


async def test_a_replayed_request_is_refused(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    body = stack.action_body(ANNA, click(message, "escalator.escalate"), message)
    headers = slack_headers(body)
    assert (await stack.post_slack(body, headers))[0] == 200
    status, text = await stack.post_slack(body, headers)
    assert (status, text) == (401, "replayed Slack request")

    async def escalated_once() -> bool:
        return (await stack.status(xid)).level == 2

    await eventually(escalated_once)
    await stack.status(xid)
    steps = [s for s in (await stack.status(xid)).timeline if s.kind.value == "escalated"]
    assert len(steps) == 1


async def test_malformed_payload_is_refused(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    status, text = await stack.post_slack("payload=%7Bnot-json")  # signed, but not JSON
    assert (status, text) == (400, "malformed Slack payload")
    no_actions = "payload=" + urllib.parse.quote(json.dumps({"type": "block_actions"}))
    status, _ = await stack.post_slack(no_actions)  # no listener matches: bolt says 404
    assert status == 404
    await assert_unchanged(stack, xid, message)


async def test_unknown_action_and_tampered_value_change_nothing(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    unknown = {"action_id": "escalator.delete", "type": "button", "value": "{}"}
    assert (await stack.post_slack(stack.action_body(ANNA, unknown, message)))[0] == 200
    await eventually(lambda: len(stack.slack.responses) == 1)
    assert "does not know this action" in stack.slack.responses[0]["text"]
    assert stack.slack.responses[0]["response_type"] == "ephemeral"

    # An Acknowledge button whose value was edited to say "escalate", and garbage values.
    resolve_value = ButtonValue(exception_id=xid, action="escalate").encode()
    for value in [resolve_value, '{"x": "exc:a", "a": "ack", "extra": 1}', "not json", ""]:
        tampered = {"action_id": "escalator.ack", "type": "button", "value": value}
        assert (await stack.post_slack(stack.action_body(ANNA, tampered, message)))[0] == 200
    await eventually(lambda: len(stack.slack.responses) == 5)
    assert all(r["text"].startswith("Refused:") for r in stack.slack.responses[1:])
    status = await stack.status(xid)
    assert status.level == 1
    await assert_unchanged(stack, xid, message)


async def test_strangers_and_members_of_other_roles_are_refused(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    await stack.post_slack(stack.action_body(STRANGER, click(message, "escalator.ack"), message))
    await eventually(lambda: len(stack.slack.responses) == 1)
    assert "not a member of any escalator role" in stack.slack.responses[0]["text"]

    # dirk is a real member, of billing: the workflow's validator refuses him.
    await stack.post_slack(stack.action_body(DIRK, click(message, "escalator.ack"), message))
    await eventually(lambda: len(stack.slack.responses) == 2)
    assert (
        stack.slack.responses[1]["text"] == "Not done: dirk is not in inventory or incident-leads"
    )
    await assert_unchanged(stack, xid, message)


async def test_snooze_and_reassign_selects(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    await stack.post_slack(
        stack.action_body(ANNA, click(message, "escalator.snooze", option=1), message)
    )

    async def snoozed() -> bool:
        return (await stack.status(xid)).state is ExceptionState.SNOOZED

    await eventually(snoozed)
    reassign = element(message, "escalator.reassign")
    leads = next(
        i for i, o in enumerate(reassign["options"]) if o["text"]["text"] == "incident-leads"
    )
    await stack.post_slack(
        stack.action_body(ANNA, click(message, "escalator.reassign", option=leads), message)
    )

    async def reassigned() -> bool:
        return (await stack.status(xid)).owner_role == "incident-leads"

    await eventually(reassigned)
    assert stack.slack.responses == []


async def test_resolve_opens_a_modal_and_the_submission_resolves(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    await stack.post_slack(stack.action_body(ANNA, click(message, "escalator.resolve"), message))
    view = (await eventually(lambda: stack.slack.views))[0]
    assert view["trigger_id"] == "1337.42.abcd"
    modal = view["view"] if isinstance(view["view"], dict) else json.loads(view["view"])

    def submission(user: str, note: str) -> str:
        return view_submission_body(
            user,
            modal["callback_id"],
            modal["private_metadata"],
            {
                "note": {"note": {"type": "plain_text_input", "value": note}},
                "cause": {"cause": {"type": "plain_text_input", "value": "late replenishment"}},
            },
        )

    status, text = await stack.post_slack(submission(DIRK, "not mine"))
    assert status == 200
    assert json.loads(text) == {
        "response_action": "errors",
        "errors": {"note": "dirk is not in inventory or incident-leads"},
    }
    status, text = await stack.post_slack(submission(ANNA, "moved stock from NL2"))
    assert status == 200 and text == ""
    final = await stack.status(xid)
    assert final.state is ExceptionState.RESOLVED
    assert (final.resolved_by, final.resolution_note) == ("anna", "moved stock from NL2")
    await eventually(lambda: "Resolved by <@U0INV00001>" in str(message.blocks))


async def test_slash_command(stack: ChannelStack) -> None:
    xid, _ = await opened(stack)
    await stack.post_slack(stack.command_body(ANNA, "help me"))
    await eventually(lambda: len(stack.slack.responses) == 1)
    assert stack.slack.responses[0]["text"].startswith("Usage: `/escalator list`")

    await stack.post_slack(stack.command_body(DIRK, f"ack {xid}"))
    await eventually(lambda: len(stack.slack.responses) == 2)
    assert (
        stack.slack.responses[1]["text"] == "Not done: dirk is not in inventory or incident-leads"
    )

    await stack.post_slack(stack.command_body(ANNA, f"ack {xid}"))
    await eventually(lambda: len(stack.slack.responses) == 3)
    assert stack.slack.responses[2]["text"].startswith("acknowledged by anna")

    await stack.post_slack(stack.command_body(ANNA, f"resolve {xid} replenished bin 4"))
    await eventually(lambda: len(stack.slack.responses) == 4)
    final = await stack.status(xid)
    assert (final.state, final.resolution_note) == (ExceptionState.RESOLVED, "replenished bin 4")

    await stack.post_slack(stack.command_body(ANNA, f"resolve {xid} again"))
    await eventually(lambda: len(stack.slack.responses) == 5)
    assert stack.slack.responses[4]["text"].startswith("Not done: already resolved by anna at")


async def test_slash_list_shows_open_exceptions_of_my_roles(
    stack: ChannelStack, workflow_environment_kind: str
) -> None:
    xid, _ = await opened(stack)
    if workflow_environment_kind == "local":  # the dev server has visibility

        async def listed() -> bool:
            found = await list_open(stack.client, ["inventory"], limit=100)
            return any(x.exception_id == xid for x in found)

        await eventually(listed)
    await stack.post_slack(stack.command_body(ANNA, "list"))
    reply = (await eventually(lambda: stack.slack.responses))[0]["text"]
    if workflow_environment_kind == "local":
        # the level search attribute may lag a moment behind: visibility is eventual
        assert re.search(rf"• `{re.escape(xid)}` open · level [01] · inventory", reply), reply
    else:  # the time-skipping server refuses list queries: the user is told, not ignored
        assert reply.startswith("Listing is not available: Temporal said")
    await stack.post_slack(stack.command_body(DIRK, "list"))  # billing owns none of it
    replies = await eventually(lambda: stack.slack.responses[1:])
    assert xid not in replies[0]["text"]


async def test_events_url_verification_is_answered(stack: ChannelStack) -> None:
    body = json.dumps(
        {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV", "token": "x"}
    )
    headers = slack_headers(body) | {"Content-Type": "application/json"}
    status, text = await stack.post_slack(body, headers)
    assert status == 200 and json.loads(text) == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    unsigned = {"Content-Type": "application/json"}
    assert (await stack.post_slack(body, unsigned))[0] == 401
