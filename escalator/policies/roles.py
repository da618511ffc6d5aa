"""Owner roles (never persons) and the escalation policies that page them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from escalator.policies.base import Name, PolicyModel
from escalator.policies.calendars import known_zone
from escalator.policies.duration import Duration, format_duration
from escalator.policies.notify_rules import NotifyRules
from escalator.policies.schedules import Away, Layer, OnCall, Override, Schedule, on_call
from escalator.policies.storm import StormControl
from escalator.policies.webhooks import WebhookChannel

__all__ = [
    "Channel",
    "Digest",
    "EscalationLevel",
    "EscalationPolicy",
    "LevelChannel",
    "Member",
    "OnExhausted",
    "OwnerRole",
    "Rotation",
]

# What one notification goes out on ("webhook": a tool named in the policy's webhooks).
Channel = Literal["slack", "slack_dm", "sms", "voice", "console", "webhook"]
# What an escalation level lists: a person's or role's channel, or ``webhook:NAME``.
LevelChannel = Literal["slack", "slack_dm", "sms", "voice", "console"] | WebhookChannel
OnExhausted = Literal["broadcast", "repeat", "flag"]


class Member(PolicyModel):
    name: Name
    """The member's name, unique in the role."""
    slack_user_id: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]{2,}$")
    """Slack user id (`U…`/`W…`), for `slack_dm` and mentions."""
    phone: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")  # E.164
    """Phone number in E.164 (`+31612345678`), quoted in YAML, for `sms` and `voice`."""
    # Left out of the serialised snapshot when unset, so a worker from before personal
    # rules (extra fields forbidden) still reads the snapshots of members without them
    # during a rolling upgrade, and policy versions without rules stay as they were.
    notify: NotifyRules | None = Field(default=None, exclude_if=lambda v: v is None)
    """Personal notification rules: steps per urgency (`page`, `notify`), each a channel and an `after`; within what the level allows."""

    @model_validator(mode="after")
    def _contacts(self) -> Member:
        """A step on a channel the member has no address for would reach nobody."""
        for urgency in ("page", "notify"):
            for i, step in enumerate((self.notify and self.notify.steps(urgency)) or [], 1):
                if step.channel == "slack_dm" and self.slack_user_id is None:
                    need = "a 'slack_user_id'"
                elif step.channel in ("sms", "voice") and self.phone is None:
                    need = "a 'phone' number (E.164)"
                else:
                    continue
                raise ValueError(
                    f"notify.{urgency}[{i - 1}]: {self.name}'s step {i} ({step.channel} after "
                    f"{format_duration(step.after)}) needs {need}, and {self.name} has none; "
                    "add it or drop the step"
                )
        return self


class Rotation(PolicyModel):
    """Weekly rotation: ``order[i]`` is on call in week i after ``start``.

    With a ``timezone`` and a hand-off period of whole days, hand-offs happen at the
    start's wall-clock time in that zone (09:00 stays 09:00 across daylight-saving
    changes); without one, every ``handoff_every`` of elapsed time from ``start``.
    """

    start: datetime
    """When `order[0]` goes on call; needs a UTC offset."""
    order: list[Name] = Field(min_length=1)
    """Member names in on-call order."""
    handoff_every: Duration = timedelta(days=7)
    """How often the next member takes over."""
    timezone: str | None = None
    """IANA zone for wall-clock hand-offs (09:00 stays 09:00 across daylight saving)."""

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("rotation start needs a UTC offset, e.g. 2026-01-05T09:00:00+01:00")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        return None if v is None else known_zone(v)

    def periods_at(self, at: datetime) -> int:
        """Hand-offs between ``start`` and ``at``."""
        if self.timezone and self.handoff_every % timedelta(days=1) == timedelta(0):
            zone = ZoneInfo(self.timezone)
            # Wall-clock time in the zone, offsets dropped: a day is a calendar day here.
            local = at.astimezone(zone).replace(tzinfo=None)
            first = self.start.astimezone(zone).replace(tzinfo=None)
            return int((local - first) / self.handoff_every)
        return int((at - self.start) / self.handoff_every)


class Digest(PolicyModel):
    """When the role's daily digest (ticket-level exceptions, SLO status) is posted:
    ``at`` in the calendar's time zone, on the calendar's business days (a weekday with
    hours that is not a holiday or closed date; UTC, every day, without a calendar)."""

    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # "09:00"
    """Local time `HH:MM` the digest is posted."""
    calendar: Name | None = None
    """Calendar whose zone and business days the digest follows; none: UTC, every day."""

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.at.split(":")
        return int(hour), int(minute)


class OwnerRole(PolicyModel):
    name: Name
    """The role's name, referenced by rules and escalation levels."""
    description: str = ""
    """Plain words for people."""
    members: list[Member] = Field(min_length=1)
    """Who is in the role, at least one."""
    slack_channel: str | None = Field(default=None, pattern=r"^[#]?[a-z0-9_-]+$|^[CG][A-Z0-9]+$")
    """The role's Slack channel (`#name` or a channel id), for `slack`."""
    rotation: Rotation | None = None
    """Who of the members is on call when (one weekly rotation; see `schedule` for more)."""
    schedule: Schedule | None = None
    """Layers of rotations in time windows (follow the sun, business hours vs nights); replaces `rotation`."""
    digest: Digest | None = None
    """A daily digest of ticket-level exceptions and SLO status."""

    @model_validator(mode="after")
    def _rotation_members(self) -> OwnerRole:
        names = {m.name for m in self.members}
        if self.rotation:
            unknown = [n for n in self.rotation.order if n not in names]
            if unknown:
                raise ValueError(
                    f"rotation names {', '.join(unknown)} who are not members of role {self.name}"
                )
        if self.schedule:
            if self.rotation:
                raise ValueError(
                    f"role {self.name} has both a rotation and a schedule; "
                    "move the rotation into a schedule layer"
                )
            unknown = sorted(self.schedule.members() - names)
            if unknown:
                raise ValueError(
                    f"schedule names {', '.join(unknown)} who are not members of role {self.name}"
                )
        return self

    def who(self, at: datetime, overrides: Sequence[Override | Away] = ()) -> OnCall:
        """Who is on call at ``at`` and why; ``member`` is None only in a schedule's gap.
        A role without a schedule reads as one: its rotation as a single layer (from its
        start: before it, the first member), or its members in order."""
        return on_call(self.effective_schedule(at), overrides, at)

    def effective_schedule(self, at: datetime) -> Schedule:
        if self.schedule is not None:
            return self.schedule
        rot = self.rotation
        if rot is not None and at >= rot.start:
            layer = Layer(
                name="rotation",
                order=rot.order,
                start=rot.start,
                timezone=rot.timezone or "UTC",
                handoff_every=rot.handoff_every,
            )
        else:
            first = self.on_call(at).name
            names = [m.name for m in self.members]
            order = names[names.index(first) :] + names[: names.index(first)]
            layer = Layer(
                name="members",
                order=order,
                start=datetime(1970, 1, 5, tzinfo=UTC),
                timezone="UTC",
                handoff_every=timedelta(days=36500),
            )
        return Schedule(layers=[layer])

    def member(self, name: str | None) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def on_call(self, at: datetime) -> Member:
        """The member on call at ``at`` by the policy alone (the first member when there is
        no rotation, and in a schedule's gap)."""
        if self.schedule is not None:
            return self.member(on_call(self.schedule, (), at).member) or self.members[0]
        if not self.rotation or at < self.rotation.start:
            return self.members[0]
        periods = self.rotation.periods_at(at)
        name = self.rotation.order[periods % len(self.rotation.order)]
        return next(m for m in self.members if m.name == name)


def _slack_only() -> list[LevelChannel]:
    return ["slack"]


class EscalationLevel(PolicyModel):
    role: Name
    """The owner role notified at this level."""
    channels: list[LevelChannel] = Field(default_factory=_slack_only, min_length=1)
    """`slack`, `slack_dm`, `sms`, `voice`, `console` or `webhook:NAME` (a declared webhook)."""
    response_time: Duration
    """Escalate to the next level when nobody acknowledged within this."""
    business_hours: bool = False  # count the response time in the policy's calendar only
    """Count `response_time` in the policy's calendar's support hours only."""


class EscalationPolicy(PolicyModel):
    name: Name
    """The policy's name, referenced by rules."""
    levels: list[EscalationLevel]
    """Levels notified one after another, at least one."""
    repeat: int = Field(default=0, ge=0, le=10)
    """How many times to go round all levels again (0-10)."""
    on_exhausted: OnExhausted = "flag"
    """After the last level: `flag`, `broadcast` or `repeat`."""
    incident_lead_role: Name | None = None
    """The role told when the policy is exhausted or an incident is declared."""
    calendar: Name | None = None
    """Calendar for business hours and support-hours routing."""
    time_to_restore: Duration | None = None  # after acknowledgement
    """After acknowledgement, the exception should be resolved within this."""
    ack_timeout: Duration | None = None  # ack without progress reverts after this
    """An acknowledgement without progress reverts after this."""
    max_snooze: Duration = timedelta(hours=4)
    """The longest snooze an owner may ask for."""
    storm: StormControl | None = None  # off unless set: see escalator/policies/storm.py
    """Storm control: one grouped message instead of a page per subject; off when unset."""
