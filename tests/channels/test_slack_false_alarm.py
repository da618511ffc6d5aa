"""Owners say "false alarm" from Slack, through the real receiver under signed requests:
the message's False alarm button resolves the exception as not real in one click, and
the resolve modal records the cause code and the owner's answer to "was it real?"."""

from __future__ import annotations

import json

import pytest
from fakes.channel_stack import ChannelStack, eventually, view_submission_body
from test_receiver_slack import ANNA, DIRK, click, opened

from escalator.workflows.contracts import ExceptionState, ExceptionStatus, StepKind

pytestmark = pytest.mark.temporal


def resolved_step(status: ExceptionStatus) -> dict:
    [step] = [s for s in status.timeline if s.kind is StepKind.RESOLVED]
    return step.detail


async def test_false_alarm_button_resolves_as_not_real(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    # dirk is no member of a role that was told: refused, nothing changes.
    await stack.post_slack(
        stack.action_body(DIRK, click(message, "escalator.false_alarm"), message)
    )
    await eventually(lambda: len(stack.slack.responses) == 1)
    assert "dirk is not in inventory" in stack.slack.responses[0]["text"]
    assert (await stack.status(xid)).state is ExceptionState.OPEN

    status, _ = await stack.post_slack(
        stack.action_body(ANNA, click(message, "escalator.false_alarm"), message)
    )
    assert status == 200

    async def resolved() -> bool:
        return (await stack.status(xid)).state is ExceptionState.RESOLVED

    await eventually(resolved)
    final = await stack.status(xid)
    assert final.resolved_by == "anna"
    detail = resolved_step(final)
    assert (detail["real"], detail["via"]) == (False, "slack")
    try:
        await eventually(lambda: "as a false alarm" in str(message.blocks))
    except AssertionError:
        raise AssertionError(str(message.blocks)) from None


async def test_modal_records_cause_and_whether_it_was_real(stack: ChannelStack) -> None:
    xid, message = await opened(stack)
    await stack.post_slack(stack.action_body(ANNA, click(message, "escalator.resolve"), message))
    view = (await eventually(lambda: stack.slack.views))[0]
    modal = view["view"] if isinstance(view["view"], dict) else json.loads(view["view"])
    [real_block] = [b for b in modal["blocks"] if b.get("block_id") == "real"]
    options = {o["value"] for o in real_block["element"]["options"]}
    assert options == {"real", "false_alarm"}

    body = view_submission_body(
        ANNA,
        modal["callback_id"],
        modal["private_metadata"],
        {
            "note": {"note": {"type": "plain_text_input", "value": "stock count ran"}},
            "cause": {"cause": {"type": "plain_text_input", "value": " stock_count "}},
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
    final = await stack.status(xid)
    assert final.state is ExceptionState.RESOLVED
    detail = resolved_step(final)
    assert (detail["cause"], detail["real"], detail["note"]) == (
        "stock_count",
        False,
        "stock count ran",
    )


async def test_slash_resolve_carries_cause_and_false_alarm(stack: ChannelStack) -> None:
    """`/escalator resolve ID cause=… false-alarm|confirmed NOTE` through the receiver:
    the options reach the workflow's resolution; a bad request is told, nothing changes."""
    xid, _ = await opened(stack)

    async def said(text: str) -> str:
        before = len(stack.slack.responses)
        await stack.post_slack(stack.command_body(ANNA, text))
        replies = await eventually(lambda: stack.slack.responses[before:])
        return replies[0]["text"]

    assert (await said(f"resolve {xid} false-alarm confirmed")).startswith(
        "Not done: false-alarm and confirmed contradict each other"
    )
    assert (await said(f"resolve {xid} cause=stock_sync")).startswith(
        "Not done: a resolution needs a note"
    )
    assert (await stack.status(xid)).state is ExceptionState.OPEN
    # A false alarm needs no note: it gets the False-alarm button's.
    assert (await said(f"resolve {xid} cause=stock_sync false-alarm")).startswith(
        "resolved by anna"
    )
    detail = resolved_step(await stack.status(xid))
    assert (detail["cause"], detail["real"], detail["note"], detail["via"]) == (
        "stock_sync",
        False,
        "marked a false alarm in Slack",
        "slack",
    )

    other, _ = await opened(stack)
    # Options only right after the id: "customer confirmed" in the note stays the note.
    reply = await said(
        f"resolve {other} confirmed cause=late_truck  truck at 9, customer confirmed"
    )
    assert reply.startswith("resolved by anna"), reply
    detail = resolved_step(await stack.status(other))
    assert (detail["cause"], detail["real"], detail["note"]) == (
        "late_truck",
        True,
        "truck at 9, customer confirmed",
    )
