"""Owner roles (never persons) and the escalation policies that page them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from policies.base import Name, PolicyModel
from policies.calendars import known_zone
from policies.duration import Duration
from policies.storm import StormControl

__all__ = [
    "Channel",
    "Digest",
    "EscalationLevel",
    "EscalationPolicy",
    "Member",
    "OnExhausted",
    "OwnerRole",
    "Rotation",
]

Channel = Literal["slack", "slack_dm", "sms", "voice", "console"]
OnExhausted = Literal["broadcast", "repeat", "flag"]


class Member(PolicyModel):
    name: Name
    slack_user_id: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]{2,}$")
    phone: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")  # E.164


class Rotation(PolicyModel):
    """Weekly rotation: ``order[i]`` is on call in week i after ``start``.

    With a ``timezone`` and a hand-off period of whole days, hand-offs happen at the
    start's wall-clock time in that zone (09:00 stays 09:00 across daylight-saving
    changes); without one, every ``handoff_every`` of elapsed time from ``start``.
    """

    start: datetime
    order: list[Name] = Field(min_length=1)
    handoff_every: Duration = timedelta(days=7)
    timezone: str | None = None

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
    calendar: Name | None = None

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.at.split(":")
        return int(hour), int(minute)


class OwnerRole(PolicyModel):
    name: Name
    description: str = ""
    members: list[Member] = Field(min_length=1)
    slack_channel: str | None = Field(default=None, pattern=r"^[#]?[a-z0-9_-]+$|^[CG][A-Z0-9]+$")
    rotation: Rotation | None = None
    digest: Digest | None = None

    @model_validator(mode="after")
    def _rotation_members(self) -> OwnerRole:
        names = {m.name for m in self.members}
        if self.rotation:
            unknown = [n for n in self.rotation.order if n not in names]
            if unknown:
                raise ValueError(
                    f"rotation names {', '.join(unknown)} who are not members of role {self.name}"
                )
        return self

    def on_call(self, at: datetime) -> Member:
        """The member on call at ``at`` (the first member when there is no rotation)."""
        if not self.rotation or at < self.rotation.start:
            return self.members[0]
        periods = self.rotation.periods_at(at)
        name = self.rotation.order[periods % len(self.rotation.order)]
        return next(m for m in self.members if m.name == name)


def _slack_only() -> list[Channel]:
    return ["slack"]


class EscalationLevel(PolicyModel):
    role: Name
    channels: list[Channel] = Field(default_factory=_slack_only, min_length=1)
    response_time: Duration
    business_hours: bool = False  # count the response time in the policy's calendar only


class EscalationPolicy(PolicyModel):
    name: Name
    levels: list[EscalationLevel]
    repeat: int = Field(default=0, ge=0, le=10)
    on_exhausted: OnExhausted = "flag"
    incident_lead_role: Name | None = None
    calendar: Name | None = None
    time_to_restore: Duration | None = None  # after acknowledgement
    ack_timeout: Duration | None = None  # ack without progress reverts after this
    max_snooze: Duration = timedelta(hours=4)
    storm: StormControl | None = None  # off unless set: see policies/storm.py
