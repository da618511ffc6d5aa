"""The Slack side of the receiver: a slack_bolt AsyncApp for buttons, the resolve modal
and the `/escalator` slash command.

Every listener does the same three things: decode the typed button value
(refuse anything escalator did not write), map the Slack user to a policy
member (refuse strangers), and hand the response to the workflow as an
update. The workflow's validator decides whether that member may do that
now; a refusal comes back to the user as an ephemeral reply, a success
shows as the message being updated by the workflow.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.service import RPCError

from escalator.activities.button_values import (
    SNOOZE_CHOICES,
    ButtonAction,
    ButtonValue,
    ButtonValueError,
)
from escalator.activities.slack_blocks import (
    ACTION_PREFIX,
    RESOLVE_CALLBACK,
    RUNBOOK_ACTION,
    resolve_modal,
)
from escalator.receiver.clicks import clicker, tell_clicker
from escalator.receiver.directory import MemberDirectory, stranger
from escalator.receiver.listing import OpenException
from escalator.receiver.modal import field, modal_submission, real_answer
from escalator.receiver.responses import Outcome, ResponseApplier
from escalator.receiver.silence_button import SilenceFromMessage, register_silence_menu
from escalator.receiver.slash_resolve import FALSE_ALARM_NOTE, RESOLVE_USAGE, parse_resolve
from escalator.receiver.storm import register_storm_actions
from escalator.receiver.storm_responses import StormResponder
from escalator.receiver.take_shift import ShiftTaker, register_take_shift
from escalator.temporal_outage import unreachable_reason

__all__ = ["Lister", "Silencer", "slack_app"]

log = logging.getLogger(__name__)
Lister = Callable[[list[str]], Awaitable[list[OpenException]]]
Silencer = Callable[[str, str], Awaitable[str]]  # (text after "silence", member) -> reply
MODAL_ANSWER_S = 2.5  # Slack wants a view_submission answer within 3 s
USAGE = (
    f"Usage: `/escalator list` · `/escalator ack ID` · {RESOLVE_USAGE} · "
    "`/escalator silence ...` · `/escalator cover @member until monday 09:00`"
)


def slack_app(
    *,
    signing_secret: str | None,
    client: AsyncWebClient,
    directory: MemberDirectory,
    responses: ResponseApplier,
    lister: Lister,
    silencer: Silencer | None = None,
    silence_menu: SilenceFromMessage | None = None,
    coverer: Silencer | None = None,  # `/escalator cover ...`: same shape (text, member) -> reply
    taker: ShiftTaker | None = None,  # "Take this shift" on a hand-off message
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        # Over HTTP the receiver checks signatures before bolt does; Socket Mode needs none.
        request_verification_enabled=signing_secret is not None,
        # One workspace, one bot token (no OAuth). Slack wants an answer within 3 s:
        # ack() answers at once, the workflow update runs after it.
        process_before_response=False,
    )

    async def apply(value: ButtonValue, actor: str) -> Outcome:
        xid = value.exception_id
        if value.action is ButtonAction.ACKNOWLEDGE:
            return await responses.acknowledge(xid, actor, "slack")
        if value.action is ButtonAction.ESCALATE_NOW:
            return await responses.escalate_now(xid, actor, "slack")
        if value.action is ButtonAction.SNOOZE:
            until = datetime.now(UTC) + SNOOZE_CHOICES[value.arg or ""]
            return await responses.snooze(xid, actor, until, "slack")
        if value.action is ButtonAction.REASSIGN:
            return await responses.reassign(xid, actor, value.arg or "", "slack")
        if value.action is ButtonAction.FALSE_ALARM:
            return await responses.resolve(xid, actor, FALSE_ALARM_NOTE, None, "slack", real=False)
        return Outcome(False, f"{value.action.value} is not a one-click action")

    def decode(action: dict[str, Any]) -> ButtonValue:
        raw = action.get("value") or (action.get("selected_option") or {}).get("value")
        value = ButtonValue.decode(raw)
        if action.get("action_id") != ACTION_PREFIX + value.action.value:
            raise ButtonValueError("the button and its value disagree")
        return value

    @app.action(RUNBOOK_ACTION)
    async def on_runbook(ack: Any) -> None:
        await ack()  # a link button: Slack opens the URL, we only acknowledge the click

    @app.action(re.compile(r"^escalator\.(ack|escalate|snooze|reassign|false_alarm)$"))
    async def on_click(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        user = clicker(body)
        try:
            value = decode(action)
        except ButtonValueError as err:
            log.warning("refused Slack action from %s: %s", user, err)
            await tell_clicker(respond, f"Refused: {err}.")
            return
        actor = directory.by_slack_user(user)
        if actor is None:
            log.warning("refused Slack action from unknown user %s", user)
            await tell_clicker(respond, stranger(user))
            return
        outcome = await apply(value, actor)
        if not outcome.ok:
            await tell_clicker(respond, f"Not done: {outcome.message}")

    @app.action(ACTION_PREFIX + ButtonAction.RESOLVE.value)
    async def on_resolve(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        user = clicker(body)
        try:
            value = decode(action)
        except ButtonValueError as err:
            await tell_clicker(respond, f"Refused: {err}.")
            return
        if directory.by_slack_user(user) is None:
            await tell_clicker(respond, stranger(user))
            return
        await client.views_open(trigger_id=body.get("trigger_id", ""), view=resolve_modal(value))

    @app.view(RESOLVE_CALLBACK)
    async def on_resolve_submit(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        submitted = await modal_submission(ack, body, view, ButtonValue.decode, directory)
        if submitted is None:
            return
        value, actor, state = submitted
        note, cause = field(state, "note") or "", field(state, "cause")
        real = real_answer(state)
        pending = asyncio.ensure_future(
            responses.resolve(value.exception_id, actor, note, cause, "slack", real=real)
        )
        try:
            outcome = await asyncio.wait_for(asyncio.shield(pending), MODAL_ANSWER_S)
        except TimeoutError:  # the update goes on; the message will show the result
            await ack()
            return
        if outcome.ok:
            await ack()
        else:
            await ack(response_action="errors", errors={"note": outcome.message})

    @app.command("/escalator")
    async def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command.get("user_id", "")
        words = (command.get("text") or "").strip().split(maxsplit=2)
        verb = words[0].lower() if words else ""
        actor = directory.by_slack_user(user)
        if actor is None:
            await respond(text=stranger(user), response_type="ephemeral")
            return
        if verb == "list":
            roles = directory.roles_of(actor)
            failed: str | None = None
            try:
                found = await lister(roles)
            except (RPCError, RuntimeError) as err:  # a server without visibility, or down
                down = unreachable_reason(err)
                if down is None and not isinstance(err, RPCError):
                    raise
                message = err.message if isinstance(err, RPCError) else str(err)
                said = f"cannot reach Temporal ({down})" if down else f"Temporal said {message}"
                log.warning("/escalator list: %s", said)
                found, failed = [], f"Listing is not available: {said}"
            lines = [
                f"• `{x.exception_id}` {x.state} · level {x.level} · {x.owner_role}" for x in found
            ]
            text = failed or "\n".join(lines) or f"No open exceptions for {', '.join(roles)}."
        elif verb == "ack" and len(words) >= 2:
            outcome = await responses.acknowledge(words[1], actor, "slack")
            text = outcome.message if outcome.ok else f"Not done: {outcome.message}"
        elif verb == "silence" and silencer is not None:
            rest = (command.get("text") or "").strip()[len("silence") :]
            text = await silencer(rest, actor)
        elif verb == "cover" and coverer is not None:
            text = await coverer((command.get("text") or "").strip()[len("cover") :], actor)
        elif verb == "resolve" and len(words) >= 2:
            asked = parse_resolve((command.get("text") or "").strip()[len("resolve") :])
            if isinstance(asked, str):
                text = f"Not done: {asked}"
            else:
                outcome = await responses.resolve(
                    asked.exception_id, actor, asked.note, asked.cause, "slack", real=asked.real
                )
                text = outcome.message if outcome.ok else f"Not done: {outcome.message}"
        else:
            text = USAGE
        await respond(text=text, response_type="ephemeral")

    if silence_menu is not None:  # before the catch-all below: bolt runs the first match
        register_silence_menu(app, directory, silence_menu, stranger)
    if taker is not None:  # "Take this shift"; before the catch-all too
        register_take_shift(app, directory, taker, stranger)
    # Acknowledge all / Resolve all on a storm's grouped message; also before the catch-all.
    register_storm_actions(app, directory, StormResponder(responses.client))

    @app.action(re.compile(r".*"))
    async def on_unknown(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        log.warning("unknown Slack action %r from %s", action.get("action_id"), body.get("user"))
        await respond(
            text="escalator does not know this action; nothing was changed.",
            response_type="ephemeral",
            replace_original=False,
        )

    return app
