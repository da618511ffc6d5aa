"""The "Take this shift" button of a shift hand-off message.

A member of the role who clicks it takes the rest of the shift the message offers:
an override from now until the shift's end, in place of the member it named, made
by the clicker now. It is stored by `escalator.records.oncall.add_override`, the
same code `escalator oncall override add` and `/escalator cover` use, so the same
rule refuses: only members of the role, or of an incident-lead role, may change who
is on call, and only members of the role can be put on call for it (the pages need
their contacts there). Anyone refused is told why in a message only they see; the
request itself was checked like every Slack request (signature, time window, replay
guard: `escalator/receiver/app.py`). On success the hand-off message is updated to
say who has the shift now.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from escalator.activities.button_values import ButtonValueError
from escalator.activities.handoff_blocks import (
    TAKE_SHIFT_ACTION,
    ShiftValue,
    role_zone,
    taken_blocks,
    taken_text,
    until_text,
)
from escalator.policies.policy_set import PolicySet
from escalator.receiver.clicks import clicker, tell_clicker
from escalator.receiver.directory import MemberDirectory
from escalator.receiver.oncall_store import OnCallOpener
from escalator.records.oncall import OnCallError, add_override

__all__ = ["ShiftTaker", "Taken", "register_take_shift"]

log = logging.getLogger(__name__)
REASON = "took the rest of the shift from the hand-off message"


@dataclass(frozen=True)
class Taken:
    ok: bool
    message: str  # for the clicker
    text: str = ""  # the hand-off message's new words
    override_id: str = ""


class ShiftTaker:
    def __init__(
        self,
        store: OnCallOpener,
        policies: PolicySet,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store, self.policies, self.clock = store, policies, clock

    async def __call__(self, value: ShiftValue, actor: str) -> Taken:
        role = next((r for r in self.policies.roles if r.name == value.role), None)
        if role is None:
            return Taken(False, f"role {value.role} is no longer in the policies; nothing changed")
        now = self.clock()
        zone = role_zone(role, now)
        if now >= value.end:
            ended = until_text(value.end, zone, now)
            return Taken(False, f"this shift ended {ended}; nothing changed")
        if actor == value.member:
            return Taken(False, f"you are on call for {role.name} in this shift already")
        try:
            store = await self.store()
            made = await asyncio.to_thread(
                add_override,
                store,
                self.policies,
                role=role.name,
                member=actor,
                actor=actor,
                covers=value.member,
                starts_at=max(now, value.start),
                ends_at=value.end,
                now=now,
                reason=REASON,
            )
        except OnCallError as err:
            return Taken(False, str(err))
        except SQLAlchemyError as err:
            log.warning("take shift: records database unreachable: %s", err)
            return Taken(False, "the records database is unreachable; nothing changed")
        text = taken_text(role.name, actor, value.member, value.end, zone, now)
        undo = f"`escalator oncall override remove {made.id} --as {actor}`"
        return Taken(True, f"{text}. Override `{made.id}`; undo: {undo}", text, made.id)


def register_take_shift(
    app: AsyncApp,
    directory: MemberDirectory,
    taker: ShiftTaker,
    stranger: Callable[[str], str],
) -> None:
    """The listener for "Take this shift"; register it before any catch-all listener."""

    @app.action(TAKE_SHIFT_ACTION)
    async def on_take(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        user = clicker(body)

        try:
            value = ShiftValue.decode(action.get("value"))
        except ButtonValueError as err:
            log.warning("refused Take this shift from %s: %s", user, err)
            await tell_clicker(respond, f"Refused: {err}.")
            return
        actor = directory.by_slack_user(user)
        if actor is None:
            log.warning("refused Take this shift from unknown user %s", user)
            await tell_clicker(respond, stranger(user))
            return
        taken = await taker(value, actor)
        if not taken.ok:
            await tell_clicker(respond, f"Not done: {taken.message}")
            return
        channel = (body.get("channel") or {}).get("id")
        ts = (body.get("container") or {}).get("message_ts")
        if channel and ts:
            try:
                await client.chat_update(
                    channel=channel,
                    ts=ts,
                    text=taken.text,
                    blocks=taken_blocks(taken.text, taken.override_id),
                )
            except SlackApiError as err:  # the override stands; only the message is stale
                log.warning("hand-off message %s not updated: %s", ts, err)
        await tell_clicker(respond, taken.message)
