"""`/escalator silence ...` in Slack: the same silences as `escalator silence`, in one line.

    /escalator silence orderToShip/awaiting_inventory site=ams for 2h stock count
    /escalator silence orderToShip until 2026-03-02T18:00+01:00 warehouse maintenance
    /escalator silence orderToShip until-resolved exc:orderToShip:label_print_failed:w1 printer
    /escalator silence list
    /escalator silence expire sil-0123456789

The Slack user is mapped to a policy member first (strangers are refused by
the caller); the journey, rule and labels are checked like the CLI does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from escalator.policies.policy_set import PolicySet
from escalator.receiver.lazy_store import lazy_records_store
from escalator.records.silence_requests import SilenceRequest, add_silence, describe
from escalator.records.silences import SilenceError, SilenceStore
from escalator.settings import Settings

__all__ = [
    "SILENCE_USAGE",
    "SlackSilencer",
    "configured_silencer",
    "lazy_silence_store",
    "parse_silence",
]

SILENCE_USAGE = (
    "Usage: `/escalator silence JOURNEY[/RULE] [key=value ...] "
    "(for 2h | until TIME | until-resolved EXCEPTION_ID) REASON` · "
    "`/escalator silence list` · `/escalator silence expire ID`"
)
_ENDS = {"for": "for_", "until": "until", "until-resolved": "until_resolved"}


def parse_silence(text: str, actor: str) -> SilenceRequest:
    words = text.split()
    if not words:
        raise SilenceError(SILENCE_USAGE)
    journey, _, rule = words[0].partition("/")
    labels, i = [], 1
    while i < len(words) and "=" in words[i] and words[i].lower() not in _ENDS:
        labels.append(words[i])
        i += 1
    if i + 1 >= len(words) or words[i].lower() not in _ENDS:
        raise SilenceError(
            f"say how long: for 2h, until TIME or until-resolved ID. {SILENCE_USAGE}"
        )
    end = {_ENDS[words[i].lower()]: words[i + 1]}
    reason = " ".join(words[i + 2 :])
    if not reason:
        raise SilenceError(f"give a reason after the end. {SILENCE_USAGE}")
    return SilenceRequest(
        journey=journey, rule=rule or None, labels=labels, reason=reason, actor=actor, **end
    )


class SlackSilencer:
    """Answers `/escalator silence ...` for a member; the reply is the text to show."""

    def __init__(self, store: SilenceStore, policies: PolicySet) -> None:
        self.store, self.policies = store, policies

    def _answer(self, text: str, actor: str, now: datetime) -> str:
        words = text.split()
        verb = words[0].lower() if words else ""
        try:
            if verb == "list":
                rows = self.store.all(active_at=now)
                return "\n".join(f"• {describe(r)}" for r in rows) or "No active silences."
            if verb == "expire" and len(words) == 2:
                return f"Expired: {describe(self.store.expire(words[1], by=actor, now=now))}"
            created = add_silence(self.store, parse_silence(text, actor), self.policies, now)
            return f"Silenced: {describe(created)}"
        except SilenceError as err:
            return f"Not done: {err}"

    async def __call__(self, text: str, actor: str) -> str:
        return await asyncio.to_thread(self._answer, text, actor, datetime.now(UTC))


def lazy_silence_store(settings: Settings) -> Callable[[], Awaitable[SilenceStore]]:
    """The silences of the records database, opened at the first use (the receiver must
    start even while the database is unreachable) and then shared."""
    return lazy_records_store(settings, SilenceStore)


def configured_silencer(
    settings: Settings,
    policies: PolicySet,
    store: Callable[[], Awaitable[SilenceStore]] | None = None,
) -> Callable[[str, str], Awaitable[str]]:
    """A silencer on the records database (``store``, shared with the Silence menu)."""
    opener = store or lazy_silence_store(settings)

    async def silence(text: str, actor: str) -> str:
        return await SlackSilencer(await opener(), policies)(text, actor)

    return silence
