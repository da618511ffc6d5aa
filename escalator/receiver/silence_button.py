"""The Silence menu of an exception's Slack message: silence its rule from the message.

The silence matches the exception's journey and rule, with no labels: every
label an exception carries today (the rule's ``labels``, its kind and
severity) is the same for every exception of that rule, so copying them would
narrow nothing, and would quietly stop the silence from matching once a policy
change edits the rule's labels. One case alone is what Snooze is for.

The order of the work makes a refused click leave nothing behind:

1. read the exception (journey, rule, state) from its workflow;
2. open the silences store, so a database outage refuses before anything is written;
3. add a note to the exception's timeline (the ``add_note`` update) naming who
   silenced what until when and the silence's id. Its validator is the
   authorization: the members who may respond to this exception (a notified
   role, the owner of a ticket, the incident-lead role) may silence from it,
   anyone else gets the validator's reason and nothing is stored. A note needs
   no workflow change, so no patch and no new history;
4. store the silence under the id the note already names.

If step 4 fails after the note was written, a second note says so: the
timeline never claims a silence the records do not have. On success the
clicker gets the details ephemerally and the message's thread gets one line,
so the rest of the channel knows the rule is silenced and by whom (the note
alone reaches the thread only with the exception's next state change).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from escalator.activities.button_values import ButtonAction, ButtonValue, ButtonValueError
from escalator.activities.silence_choices import (
    SUPPORT_HOURS,
    UNTIL_RESOLVED,
    SilenceEndError,
    silence_end,
)
from escalator.activities.slack_silence_menu import SILENCE_ACTION
from escalator.policies.calendars import Calendar
from escalator.policies.policy_set import PolicySet
from escalator.policies.snapshot import snapshot
from escalator.receiver.clicks import clicker, tell_clicker
from escalator.receiver.directory import MemberDirectory
from escalator.receiver.responses import Outcome, ResponseApplier
from escalator.records.silences import SilenceError, SilenceStore, new_silence_id
from escalator.workflows.contracts import ExceptionState, ExceptionStatus

__all__ = ["SilenceFromMessage", "Silenced", "StoreOpener", "register_silence_menu"]

log = logging.getLogger(__name__)
StoreOpener = Callable[[], Awaitable[SilenceStore]]


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Silenced:
    outcome: Outcome  # for the clicker
    thread_line: str | None = None  # for the channel, when a silence was stored (no "who")


class SilenceFromMessage:
    """Turns a Silence menu choice by a member into a stored silence and a reply."""

    def __init__(
        self, responses: ResponseApplier, store: StoreOpener, policies: PolicySet | None = None
    ) -> None:
        self.responses, self.store, self.policies = responses, store, policies

    def _calendar(self, rule: str, now: datetime) -> Calendar | None:
        """The rule's support hours as the receiver's policies say now (the calendar a new
        exception of the rule would be routed with)."""
        if self.policies is None:
            return None
        try:
            return snapshot(self.policies, rule, now).calendar
        except KeyError:  # the rule left the policies since this exception was raised
            return None

    async def _status(self, exception_id: str) -> ExceptionStatus | Outcome:
        handle = self.responses.client.get_workflow_handle(exception_id)
        try:
            return await handle.query(
                "status", result_type=ExceptionStatus, rpc_timeout=self.responses.answer_within
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return Outcome(False, f"no exception {exception_id}")
            return Outcome(False, f"{exception_id}: Temporal said {err.message}")
        except WorkflowQueryFailedError as err:
            return Outcome(False, f"{exception_id} cannot be read now: {err}")

    async def __call__(self, value: ButtonValue, actor: str) -> Silenced:
        xid, choice = value.exception_id, value.arg or ""
        status = await self._status(xid)
        if isinstance(status, Outcome):
            return Silenced(status)
        if choice == UNTIL_RESOLVED and status.state is ExceptionState.RESOLVED:
            return Silenced(Outcome(False, f"{xid} is already resolved: choose a time instead"))
        try:
            store = await self.store()
        except SQLAlchemyError as err:
            log.warning("silence from Slack: records database unreachable: %s", err)
            return Silenced(
                Outcome(False, "the records database is unreachable; nothing was silenced")
            )
        now = datetime.now(UTC)
        calendar = self._calendar(status.rule, now) if choice == SUPPORT_HOURS else None
        try:
            ends_at = silence_end(choice, now, calendar)
        except SilenceEndError as err:
            return Silenced(Outcome(False, str(err)))
        scope = f"{status.journey}/{status.rule}"
        until = f"until {_when(ends_at)}" if ends_at else f"until {xid} resolves"
        if ends_at and calendar:  # as the people of that calendar read it
            until += f" (support hours start {ends_at:%a %H:%M} {calendar.timezone})"
        silence_id = new_silence_id()
        noted = await self.responses.note(
            xid, actor, f"silenced {scope} {until} ({silence_id})", "slack"
        )
        if not noted.ok:  # the validator's reason: not allowed to respond to this exception
            return Silenced(noted)
        try:
            await asyncio.to_thread(
                store.add,
                journey=status.journey,
                rule=status.rule,
                reason=f"silenced from Slack on {xid}",
                created_by=actor,
                now=now,
                ends_at=ends_at,
                until_resolved=None if ends_at else xid,
                silence_id=silence_id,
            )
        except (SilenceError, SQLAlchemyError) as err:
            log.warning("silence %s from Slack not stored: %s", silence_id, err)
            why = str(err).splitlines()[0][:200]  # SQLAlchemy appends the SQL and a link
            await self.responses.note(
                xid, actor, f"silence {silence_id} was not stored: {why}", "slack"
            )
            return Silenced(
                Outcome(False, f"the silence was not stored ({why}); nothing is silenced")
            )
        lift = f"`/escalator silence expire {silence_id}`"
        return Silenced(
            Outcome(
                True,
                f"Silenced *{scope}* (every case) {until}: `{silence_id}`.\n"
                f"New exceptions of this rule are held back and page nobody until then; "
                f"`{xid}` itself is not changed.\n"
                f"Lift it: {lift} (or `escalator silence expire {silence_id} --as {actor}`).",
            ),
            f"silenced *{scope}* (every case) {until} · `{silence_id}` · lift: {lift}",
        )


def _decode(action: dict[str, Any]) -> ButtonValue:
    value = ButtonValue.decode((action.get("selected_option") or {}).get("value"))
    if value.action is not ButtonAction.SILENCE:
        raise ButtonValueError("the menu and its value disagree")
    return value


def register_silence_menu(
    app: AsyncApp,
    directory: MemberDirectory,
    silence: SilenceFromMessage,
    stranger: Callable[[str], str],
) -> None:
    """The listener for the Silence menu; register it before any catch-all listener."""

    @app.action(SILENCE_ACTION)
    async def on_silence(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        user = clicker(body)

        try:
            value = _decode(action)
        except ButtonValueError as err:
            log.warning("refused Slack silence from %s: %s", user, err)
            await tell_clicker(respond, f"Refused: {err}.")
            return
        actor = directory.by_slack_user(user)
        if actor is None:
            log.warning("refused Slack silence from unknown user %s", user)
            await tell_clicker(respond, stranger(user))
            return
        done = await silence(value, actor)
        outcome = done.outcome
        await tell_clicker(
            respond, outcome.message if outcome.ok else f"Not done: {outcome.message}"
        )
        channel = (body.get("channel") or {}).get("id")
        ts = (body.get("container") or {}).get("message_ts")
        if done.thread_line and channel and ts:
            try:
                at = datetime.now(UTC).strftime("%H:%M UTC")  # as the other thread lines
                await client.chat_postMessage(
                    channel=channel, thread_ts=ts, text=f"{at} · <@{user}> {done.thread_line}"
                )
            except SlackApiError as err:  # the silence stands; only the announcement is lost
                log.warning("silence on %s not announced in its thread: %s", ts, err)
