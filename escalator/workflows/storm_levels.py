"""The pure decisions of a storm's escalation: when a level is due, what comes next,
who may answer the storm.

No Temporal calls: the storm workflow passes ``now`` in. The rules are the ones an
exception follows alone (`EscalationState.after`, `Pager.escalate`,
`responses.refuse_actor`), applied to the storm as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from escalator.policies.business_hours import add_business_time
from escalator.policies.duration import format_duration
from escalator.policies.roles import EscalationLevel, LevelChannel
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.constants import NOTIFY_FACTOR
from escalator.workflows.storm_contracts import MemberRouting, StormInput, StormState
from escalator.workflows.targets import quiet_channels

__all__ = [
    "LISTED",
    "NextStep",
    "ack_due",
    "allowed_roles",
    "level_channels",
    "next_step",
    "quiet",
    "refuse_storm_actor",
    "route",
    "storm_summary",
    "window_text",
]

LISTED = 50  # subjects named in the grouped message; the count covers all of them


@dataclass(frozen=True)
class NextStep:
    action: Literal["escalate", "repeat", "exhausted"]
    level: int  # the level paged next (unchanged when exhausted)
    round: int


def quiet(state: StormState) -> bool:
    """A storm of notify-routed exceptions only: it notifies, it does not page."""
    return state.routing == "notify"


def route(state: StormState, routing: MemberRouting) -> bool:
    """Take one registration's routing into the storm's mode; True when it turned the storm
    from notifying into paging (the current level is then paged loudly, and sooner).

    Paging is sticky: once an exception of the rule was routed page, the error budget or its
    severity says someone must be interrupted, and the grouped message stands for it too; a
    later notify-routed member does not make the storm quieter than what it already said.
    """
    was = state.routing
    state.routing = "notify" if routing == "notify" and was in (None, "notify") else "page"
    return was == "notify" and state.routing == "page"


def level_channels(state: StormState, channels: list[LevelChannel]) -> list[LevelChannel]:
    """A level's channels for the storm's message: the quiet ones for a notifying storm, as
    for a notify-routed exception (`escalation_paging.routed_channels`)."""
    return quiet_channels(channels) if quiet(state) else list(channels)


def ack_due(
    policy: ExceptionPolicy, level: int, start: datetime, state: StormState | None = None
) -> datetime:
    """When the storm escalates past ``level`` if nobody acknowledges it; business hours
    count in the policy's calendar when the level says so, as for a single exception.
    A notifying storm waits ``NOTIFY_FACTOR`` times longer, as a notification does."""
    lvl = policy.escalation.levels[level - 1]
    wait = lvl.response_time * (NOTIFY_FACTOR if state is not None and quiet(state) else 1)
    if lvl.business_hours and policy.calendar is not None:
        return add_business_time(start, wait, policy.calendar).astimezone(UTC)
    return start + wait


def window_text(lvl: EscalationLevel, state: StormState | None = None) -> str:
    hours = " (business hours)" if lvl.business_hours else ""
    wait = lvl.response_time * (NOTIFY_FACTOR if state is not None and quiet(state) else 1)
    return f"storm ack window: {lvl.role}, {format_duration(wait)}{hours}"


def next_step(policy: ExceptionPolicy, level: int, round_: int) -> NextStep:
    """After ``level`` went unanswered: the next level, a repeat from level 1, or exhausted."""
    esc = policy.escalation
    if level < len(esc.levels):
        return NextStep("escalate", level + 1, round_)
    if round_ < esc.repeat:
        return NextStep("repeat", 1, round_ + 1)
    return NextStep("exhausted", level, round_)


def allowed_roles(policy: ExceptionPolicy, notified: list[str]) -> list[str]:
    roles = list(notified)
    lead = policy.escalation.incident_lead_role
    if lead and lead not in roles:
        roles.append(lead)
    return roles


def refuse_storm_actor(policy: ExceptionPolicy, notified: list[str], actor: str) -> str | None:
    """Members of a role the storm told, or of the incident-lead role, may answer it."""
    roles = allowed_roles(policy, notified)
    if not roles:
        return f"{actor} cannot answer this storm yet: it has told no role"
    for name in roles:
        role = policy.roles.get(name)
        if role and any(m.name == actor for m in role.members):
            return None
    return f"{actor} is not in {' or '.join(roles)}"


def storm_summary(inp: StormInput, state: StormState, *, over: bool = False) -> str:
    """The grouped message, in words a person reads at 3 a.m."""
    members = state.members
    n, done = len(members), len(set(state.resolved))
    first = min(m.detected_at for m in members)
    newest = max(m.detected_at for m in members)
    names = ", ".join(m.subject for m in members[:LISTED])
    more = f" and {n - LISTED} more" if n > LISTED else ""
    head = (
        f"{n} exceptions of {inp.rule} ({inp.journey}) for {inp.role}, grouped by storm "
        f"control: first at {first:%Y-%m-%d %H:%M:%S} UTC, newest {newest:%Y-%m-%d %H:%M:%S} UTC"
    )
    tail = f"; {done} resolved, {n - done} open" + ("; storm over" if over else "")
    return f"{head}{tail}; subjects: {names}{more}"
