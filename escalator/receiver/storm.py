"""The storm message's buttons in the Slack receiver: Acknowledge all, Resolve all.

Slack wants an answer within 3 s; a storm may have 500 members. So every listener
acknowledges the Slack request first (bolt then answers Slack at once and runs the
rest of the listener after the response), does the work (the storm's validator
decides who may, then the members are answered many at a time), and tells the
clicker the result ephemerally. The resolve modal waits only for the storm's yes or
no (one round trip, so a refusal shows in the modal); the members are resolved after
the modal has closed, each with the note, the cause code and the answer to "was it
real?" the modal got (the learning loop counts every member).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from escalator.activities.storm_blocks import (
    STORM_ACK,
    STORM_RESOLVE,
    STORM_RESOLVE_CALLBACK,
    StormButtonValue,
    storm_resolve_modal,
)
from escalator.receiver.clicks import clicker, tell_clicker
from escalator.receiver.directory import MemberDirectory, stranger
from escalator.receiver.modal import field, modal_submission, real_answer
from escalator.receiver.storm_responses import Learned, StormOutcome, StormResponder

__all__ = ["register_storm_actions"]

log = logging.getLogger(__name__)
MODAL_ANSWER_S = 2.5  # Slack wants a view_submission answer within 3 s


def _text(outcome: StormOutcome) -> str:
    return outcome.message if outcome.ok else f"Not done: {outcome.message}"


def register_storm_actions(
    app: AsyncApp, directory: MemberDirectory, responder: StormResponder
) -> None:
    """Add the storm listeners; call before any catch-all action listener."""

    @app.action(STORM_ACK)
    async def on_ack_all(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()  # Slack is answered now; the fan-out below may take longer than 3 s
        user = clicker(body)
        try:
            value = StormButtonValue.decode(action.get("value"))
        except ValueError as err:
            log.warning("refused storm action from %s: %s", user, err)
            await tell_clicker(respond, f"Refused: {err}.")
            return
        actor = directory.by_slack_user(user)
        if actor is None:
            await tell_clicker(respond, stranger(user))
            return
        outcome = await responder.acknowledge_all(value.storm_id, actor, "slack")
        await tell_clicker(respond, _text(outcome))

    @app.action(STORM_RESOLVE)
    async def on_resolve_all(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        user = clicker(body)
        try:
            value = StormButtonValue.decode(action.get("value"))
        except ValueError as err:
            await tell_clicker(respond, f"Refused: {err}.")
            return
        if directory.by_slack_user(user) is None:
            await tell_clicker(respond, stranger(user))
            return
        channel = (body.get("channel") or {}).get("id")
        modal = storm_resolve_modal(value.model_copy(update={"channel": channel}))
        await client.views_open(trigger_id=body.get("trigger_id", ""), view=modal)

    @app.view(STORM_RESOLVE_CALLBACK)
    async def on_resolve_all_submit(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        submitted = await modal_submission(ack, body, view, StormButtonValue.decode, directory)
        if submitted is None:
            return
        value, actor, state = submitted
        user = (body.get("user") or {}).get("id", "")
        note = field(state, "note") or ""
        learned = Learned(cause=field(state, "cause"), real=real_answer(state))
        try:
            asked = await asyncio.wait_for(
                responder.ask_resolve(value.storm_id, actor, note, "slack"), MODAL_ANSWER_S
            )
        except TimeoutError:
            await ack(
                errors={"note": "escalator did not answer in time; try again"},
                response_action="errors",
            )
            return
        if isinstance(asked, StormOutcome):  # refused: shown in the modal, nothing changed
            await ack(response_action="errors", errors={"note": asked.message})
            return
        await ack()  # the modal closes; the members are resolved now, then the clicker is told
        outcome = await responder.resolve_members(asked, actor, note, "slack", learned)
        where = value.channel or user  # no channel: a DM from the app
        try:
            if value.channel:
                await client.chat_postEphemeral(channel=where, user=user, text=_text(outcome))
            else:
                await client.chat_postMessage(channel=where, text=_text(outcome))
        except SlackApiError as err:  # the work is done; only the note about it failed
            log.warning("could not tell %s the storm result: %s", user, err)
