"""`/escalator cover @anna until monday 09:00` in Slack: the caller covers a colleague.

    /escalator cover @anna until monday 09:00          the caller is on call instead of anna
    /escalator cover @anna until 2026-03-09T09:00+01:00 [ROLE] [reason ...]

The override is stored like `escalator oncall override add` (the records database,
made by the caller, now), for the role the caller and anna share (name it when they
share several). The time is read in the zone of that role's schedule (UTC for a role
without one); ``monday 09:00`` is the next Monday at 09:00, ``09:00`` the next 09:00.
Only members of the role (or an incident lead) may cover; refusals say why.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta, tzinfo

from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import OwnerRole
from escalator.receiver.oncall_store import OnCallOpener
from escalator.records.oncall import OnCallError, OnCallStore, add_override

__all__ = ["COVER_USAGE", "SlackCoverer", "configured_coverer", "parse_until"]

COVER_USAGE = (
    "Usage: `/escalator cover @member until [WEEKDAY] HH:MM [ROLE] [reason]` (or until an ISO time)"
)
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_until(words: list[str], now: datetime, zone: tzinfo) -> tuple[datetime, list[str]]:
    """The end given at the start of ``words`` (after "until"), and the words left."""
    if not words:
        raise OnCallError(f"say until when. {COVER_USAGE}")
    try:
        at = datetime.fromisoformat(words[0].replace("Z", "+00:00"))
        return (at if at.tzinfo else at.replace(tzinfo=zone)), words[1:]
    except ValueError:
        pass
    local = now.astimezone(zone)
    day = words[0].lower()
    if day in ("today", "tomorrow") or day[:3] in (d[:3] for d in DAYS):
        if len(words) < 2 or not _HHMM.match(words[1]):
            raise OnCallError(f"give a time after {words[0]!r}, e.g. {words[0]} 09:00")
        h, m = (int(x) for x in words[1].split(":"))
        if day == "today":
            offset = 0
        elif day == "tomorrow":
            offset = 1
        else:
            target = next(i for i, d in enumerate(DAYS) if d.startswith(day[:3]))
            offset = (target - local.weekday()) % 7
        date = local.date() + timedelta(days=offset)
        end = datetime.combine(date, time(h, m), tzinfo=zone)
        if end <= now:
            if day == "today":
                raise OnCallError(f"today {words[1]} has passed")
            # "monday 09:00" said on a Monday at 10:00: next week's
            end = datetime.combine(date + timedelta(days=7), time(h, m), tzinfo=zone)
        return end, words[2:]
    if _HHMM.match(words[0]):
        h, m = (int(x) for x in words[0].split(":"))
        end = datetime.combine(local.date(), time(h, m), tzinfo=zone)
        if end <= now:
            end += timedelta(days=1)
        return end, words[1:]
    raise OnCallError(f"{words[0]!r} is not a time. {COVER_USAGE}")


class SlackCoverer:
    """Answers `/escalator cover ...` for a member; the reply is the text to show."""

    def __init__(self, store: OnCallStore, policies: PolicySet) -> None:
        self.store, self.policies = store, policies
        self.by_slack = {
            m.slack_user_id: m.name for r in policies.roles for m in r.members if m.slack_user_id
        }

    def _who(self, word: str) -> str:
        found = _MENTION.match(word)
        if found:
            name = self.by_slack.get(found.group(1))
            if name is None:
                raise OnCallError(f"{word} is not a member of any role in the policies")
            return name
        return word.removeprefix("@")

    def _role(self, actor: str, covered: str, named: str | None) -> OwnerRole:
        roles = [r for r in self.policies.roles if covered in {m.name for m in r.members}]
        if named is not None:
            chosen = [r for r in roles if r.name == named]
            if not chosen:
                raise OnCallError(f"{covered} is not a member of role {named}")
            return chosen[0]
        if not roles:
            raise OnCallError(f"{covered} is not a member of any role")
        if len(roles) > 1:
            mine = [r for r in roles if actor in {m.name for m in r.members}]
            if len(mine) != 1:
                names = ", ".join(r.name for r in roles)
                raise OnCallError(
                    f"{covered} is in several roles ({names}): name one after the time"
                )
            return mine[0]
        return roles[0]

    def answer(self, text: str, actor: str, now: datetime) -> str:
        words = text.split()
        try:
            if len(words) < 3 or words[1].lower() != "until":
                raise OnCallError(COVER_USAGE)
            covered = self._who(words[0])
            if covered == actor:
                raise OnCallError("you cannot cover yourself; name the colleague you cover")
            candidates = [r for r in self.policies.roles if covered in {m.name for m in r.members}]
            zone_role = candidates[0] if candidates else None
            zone: tzinfo = UTC
            if zone_role is not None and zone_role.schedule is not None:
                zone = zone_role.schedule.layers[-1].zone
            end, rest = parse_until(words[2:], now, zone)
            role_names = {r.name for r in self.policies.roles}
            named = rest[0] if rest and rest[0] in role_names else None
            reason = " ".join(rest[1:] if named else rest)
            role = self._role(actor, covered, named)
            made = add_override(
                self.store,
                self.policies,
                role=role.name,
                member=actor,
                actor=actor,
                covers=covered,
                starts_at=now,
                ends_at=end,
                now=now,
                reason=reason or "covered from Slack",
            )
        except OnCallError as err:
            return f"Not done: {err}"
        until = made.ends_at.astimezone(zone)
        return (
            f"{actor} covers {covered} for {role.name} until "
            f"{until:%a %Y-%m-%d %H:%M} {until.tzname()} ({made.id})"
        )

    async def __call__(self, text: str, actor: str) -> str:
        return await asyncio.to_thread(self.answer, text, actor, datetime.now(UTC))


def configured_coverer(
    store: OnCallOpener, policies: PolicySet
) -> Callable[[str, str], Awaitable[str]]:
    """A coverer on the records database (``store`` opens it at the first use)."""

    async def cover(text: str, actor: str) -> str:
        return await SlackCoverer(await store(), policies)(text, actor)

    return cover
