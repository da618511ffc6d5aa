"""Dry run: what would happen to an exception of a rule raised at a given moment.

:func:`explain` is pure (no clock, no I/O): it resolves the rule's policy
snapshot exactly as the workflow gets it, then walks the escalation policy
with nobody answering: the playbook first, then every level of every round
(``repeat``), then what happens when all levels are exhausted. Times are
wall-clock times in the calendar's zone (UTC when the exception has no
calendar), with business hours applied where a level counts them.

The preview follows the EscalationWorkflow's rules: the automated playbook
steps run before anyone is paged (each may take up to its ``timeout``; the
preview assumes the worst, so level 1 is paged at the latest then); a level
pages its role's on-call member (by rotation) on the level's channels, the
role's Slack channel for ``slack``; a channel without an address is skipped
and, when no channel is left, the page goes to the console only.

The preview shows the full escalation (a ``page``): the live routing decision also weighs
burn rates, support hours and silences, which a dry run does not know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from escalator.policies.business_hours import add_business_time, is_open
from escalator.policies.calendars import Calendar
from escalator.policies.checks import channel_reaches
from escalator.policies.duration import Duration
from escalator.policies.notify_rules import PERSONAL_CHANNELS
from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import LevelChannel, Member, OnExhausted, OwnerRole
from escalator.policies.schedules import Away, Override
from escalator.policies.snapshot import ExceptionPolicy, snapshot
from escalator.policies.webhooks import webhook_name

__all__ = [
    "ROUTING_NOTE",
    "ExplainResult",
    "LevelPreview",
    "PlaybookStepPreview",
    "StepPreview",
    "TargetPreview",
    "explain",
    "mask_phone",
]

ROUTING_NOTE = "the full escalation; the live decision also weighs burn rates, support hours and silences (docs/routing.md)"


class _Preview(BaseModel):
    model_config = ConfigDict(frozen=True)


class TargetPreview(_Preview):
    channel: LevelChannel
    address: str | None  # Slack channel, Slack user id or masked phone; None: unreachable
    member: str | None = None
    reachable: bool
    reason: str | None = None  # why not reachable


class StepPreview(_Preview):
    """A step of the on-call member's personal rule for a page, at this level."""

    step: int  # 1-based, in the member's rule
    channel: str
    after: Duration
    at: datetime  # when it goes out if nobody acknowledged by then
    address: str | None  # Slack user id or masked phone
    skipped: str | None = None  # why it does not go out (the level does not allow it)


class LevelPreview(_Preview):
    round: int  # 1 = first pass; 2.. = repeats
    level: int  # 1-based
    role: str
    on_call: str  # the member on call when paged (schedule, overrides, vacations)
    on_call_why: str = ""  # which layer, override or vacation put them there
    notify_at: datetime
    response_time: Duration
    business_hours: bool
    escalates_at: datetime  # when nobody acknowledged by then, the next step happens
    targets: list[TargetPreview]
    console_fallback: bool = False  # no channel reached anyone: console only
    informed: list[str] = Field(default_factory=list)  # roles paged before, kept informed
    # The on-call member's own steps for a page (their `notify` rule), which replace the
    # level's DM, SMS and voice for them; empty: the level's channels reach them.
    steps: list[StepPreview] = Field(default_factory=list)


class PlaybookStepPreview(_Preview):
    name: str
    type: Literal["automated", "manual"]
    action: str | None = None
    recheck: bool = False
    timeout: Duration | None = None
    runbook: str | None = None
    description: str = ""


class ExplainResult(_Preview):
    rule: str
    kind: str
    journey: str
    severity: str
    owner: str
    escalation_policy: str
    runbook: str
    predicts: str
    policy_version: str
    raised_at: datetime
    timezone: str
    calendar: str | None
    calendar_open_at_raise: bool | None  # None: no calendar (always open)
    routing: Literal["page", "notify", "ticket"] = "page"
    routing_note: str = ROUTING_NOTE
    playbook: str | None
    playbook_steps: list[PlaybookStepPreview]
    first_page_at: datetime
    levels: list[LevelPreview]
    exhausted_at: datetime
    on_exhausted: OnExhausted
    exhausted: str  # what happens then, in words
    broadcast: list[TargetPreview] = Field(default_factory=list)
    incident_lead_role: str | None
    time_to_restore: Duration | None
    never_reached: list[str]


def mask_phone(phone: str) -> str:
    """``+31612340001`` -> ``+31******001``: enough to recognise, not to dial."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]


def _address(
    role: OwnerRole, member: Member, channel: LevelChannel
) -> tuple[str | None, str | None]:
    """The same choice as the workflow's targets: (address, member name)."""
    hook = webhook_name(channel)
    if hook is not None:
        return hook, None
    if channel == "slack":
        return role.slack_channel, None
    if channel == "slack_dm":
        return member.slack_user_id, member.name
    if channel in ("sms", "voice"):
        return (mask_phone(member.phone) if member.phone else None), member.name
    return role.name, member.name  # console


def _why_not(role: OwnerRole, member: Member, channel: LevelChannel) -> str:
    if channel == "slack":
        return f"role {role.name} has no slack_channel"
    if channel == "slack_dm":
        return f"{member.name} (on call) has no slack_user_id"
    return f"{member.name} (on call) has no phone number"


def _targets(
    role: OwnerRole, channels: list[LevelChannel], at: datetime, member: Member | None = None
) -> tuple[list[TargetPreview], bool]:
    member = member or role.on_call(at)
    out: list[TargetPreview] = []
    for channel in channels:
        address, person = _address(role, member, channel)
        if address is None:
            out.append(
                TargetPreview(
                    channel=channel,
                    address=None,
                    member=person,
                    reachable=False,
                    reason=_why_not(role, member, channel),
                )
            )
        else:
            out.append(
                TargetPreview(channel=channel, address=address, member=person, reachable=True)
            )
    return out, not any(t.reachable for t in out)


def _personal_steps(
    member: Member, channels: list[LevelChannel], at: datetime
) -> list[StepPreview]:
    """The member's page steps as the workflow runs them: a channel the level does not list
    is skipped (escalator/workflows/personal_steps.py)."""
    rule = member.notify.steps("page") if member.notify else None
    out: list[StepPreview] = []
    for i, step in enumerate(rule or [], start=1):
        address = member.slack_user_id if step.channel == "slack_dm" else member.phone
        if address and step.channel != "slack_dm":
            address = mask_phone(address)
        skipped = None
        if step.channel not in channels:
            skipped = f"the level does not allow {step.channel}"
        out.append(
            StepPreview(
                step=i,
                channel=step.channel,
                after=step.after,
                at=at + step.after,
                address=address,
                skipped=skipped,
            )
        )
    return out


def _zone(calendar: Calendar | None) -> ZoneInfo | None:
    return ZoneInfo(calendar.timezone) if calendar else None


def explain(
    policies: PolicySet,
    rule_name: str,
    at: datetime,
    changes: Mapping[str, Sequence[Override | Away]] | None = None,
) -> ExplainResult:
    """The preview for an exception of ``rule_name`` raised at ``at`` (aware datetime);
    ``changes`` are each role's overrides and vacations (from the records), if known.

    Raises ``KeyError`` for an unknown rule and ``ValueError`` for a naive ``at``.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the moment to explain needs a UTC offset, e.g. 2026-03-27T16:00:00+01:00")
    snap = snapshot(policies, rule_name, at)
    return _walk(snap, at, changes or {})


def _walk(
    snap: ExceptionPolicy, at: datetime, changes: Mapping[str, Sequence[Override | Away]]
) -> ExplainResult:
    rule, esc, cal = snap.rule, snap.escalation, snap.calendar
    zone = _zone(cal)
    tz_name = cal.timezone if cal else "UTC"

    def local(t: datetime) -> datetime:
        return t.astimezone(zone or UTC)

    def after(start: datetime, duration: timedelta, business_hours: bool) -> datetime:
        if business_hours and cal is not None:
            return add_business_time(start, duration, cal)
        return local(start.astimezone(UTC) + duration)

    never: list[str] = []
    steps: list[PlaybookStepPreview] = []
    playbook_time = timedelta(0)
    if snap.playbook is not None:
        for step in snap.playbook.steps:
            automated = step.type == "automated"
            steps.append(
                PlaybookStepPreview(
                    name=step.name,
                    type=step.type,
                    action=step.action,
                    recheck=step.recheck if automated else False,
                    timeout=step.timeout if automated else None,
                    runbook=step.runbook,
                    description=step.description,
                )
            )
            if automated:
                playbook_time += step.timeout

    first_page = local(at.astimezone(UTC) + playbook_time)
    levels: list[LevelPreview] = []
    t = first_page
    notified: list[str] = []
    for rnd in range(1, esc.repeat + 2):
        for i, lvl in enumerate(esc.levels, start=1):
            role = snap.role(lvl.role)
            on_call = role.who(t, changes.get(role.name, ()))
            member = role.member(on_call.member) or role.on_call(t)
            personal = _personal_steps(member, list(lvl.channels), local(t))
            if personal:  # the member's rule replaces the level's person channels for them
                own = [c for c in lvl.channels if c not in PERSONAL_CHANNELS]
                targets, fallback = _targets(role, own, t, member)
                fallback = fallback and all(p.skipped for p in personal)
            else:
                targets, fallback = _targets(role, list(lvl.channels), t, member)
            due = after(t, lvl.response_time, lvl.business_hours)
            levels.append(
                LevelPreview(
                    round=rnd,
                    level=i,
                    role=role.name,
                    on_call=member.name,
                    on_call_why=(
                        on_call.why if on_call.member else f"{on_call.why}: the first member"
                    ),
                    notify_at=local(t),
                    response_time=lvl.response_time,
                    business_hours=lvl.business_hours,
                    escalates_at=due,
                    targets=targets,
                    console_fallback=fallback,
                    informed=[r for r in notified if r != role.name],
                    steps=personal,
                )
            )
            if role.name not in notified:
                notified.append(role.name)
            t = due

    never += _never_reached(snap, levels)
    exhausted_at = local(t)
    broadcast: list[TargetPreview] = []
    if esc.on_exhausted == "repeat":
        text = (
            "nobody acknowledged: the levels start again from level 1 and keep repeating "
            "until someone responds"
        )
    elif esc.on_exhausted == "broadcast" and esc.incident_lead_role:
        lead = snap.role(esc.incident_lead_role)
        lead_who = lead.who(t, changes.get(lead.name, ()))
        lead_member = lead.member(lead_who.member) or lead.on_call(t)
        broadcast, _ = _targets(lead, list(esc.levels[-1].channels), t, lead_member)
        text = (
            f"all levels exhausted: broadcast to incident lead role {lead.name} "
            f"(on call: {lead_member.name}); every role paged so far is kept informed; "
            "the exception stays open"
        )
    elif esc.on_exhausted == "broadcast":
        text = (
            "all levels exhausted: 'broadcast' has no incident_lead_role to broadcast to, "
            "so nobody new is told; the exception stays open"
        )
        never.append("the broadcast on exhaustion: the policy names no incident_lead_role")
    else:
        who = f" for incident lead role {esc.incident_lead_role}" if esc.incident_lead_role else ""
        text = f"all levels exhausted: no more pages; the exception stays open, flagged{who}"

    return ExplainResult(
        rule=rule.name,
        kind=rule.kind,
        journey=rule.journey,
        severity=rule.severity,
        owner=rule.owner,
        escalation_policy=esc.name,
        runbook=rule.runbook,
        predicts=rule.predicts.description,
        policy_version=snap.version,
        raised_at=local(at),
        timezone=tz_name,
        calendar=cal.name if cal else None,
        calendar_open_at_raise=is_open(at, cal) if cal else None,
        playbook=snap.playbook.name if snap.playbook else None,
        playbook_steps=steps,
        first_page_at=first_page,
        levels=levels,
        exhausted_at=exhausted_at,
        on_exhausted=esc.on_exhausted,
        exhausted=text,
        broadcast=broadcast,
        incident_lead_role=esc.incident_lead_role,
        time_to_restore=esc.time_to_restore,
        never_reached=never,
    )


def _never_reached(snap: ExceptionPolicy, levels: list[LevelPreview]) -> list[str]:
    """Channels and levels that can never reach anyone, and ones that cannot at these times."""
    out: list[str] = []
    seen: set[tuple[int, str]] = set()
    for lvl_no, lvl in enumerate(snap.escalation.levels, start=1):
        role = snap.role(lvl.role)
        dead = [c for c in lvl.channels if not channel_reaches(c, role)]
        for channel in dead:
            seen.add((lvl_no, channel))
            out.append(
                f"level {lvl_no} ({role.name}) by {channel}: no member of {role.name} "
                f"has an address for it, ever"
            )
        if len(dead) == len(lvl.channels):
            out.append(f"level {lvl_no} ({role.name}): no channel reaches anyone; console only")
    for prev in levels:
        for target in prev.targets:
            key = (prev.level, target.channel)
            if not target.reachable and key not in seen:
                seen.add(key)
                out.append(
                    f"level {prev.level} ({prev.role}) by {target.channel} at "
                    f"{prev.notify_at:%Y-%m-%d %H:%M %Z}: {target.reason}"
                )
    return out
