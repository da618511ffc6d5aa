"""Which day a digest run is for: skip it (not a business day) or post, and since when.

The window a digest covers starts at the previous digest that was due: ``at`` on the
last business day of the calendar before today (yesterday without a calendar). It is
computed from the policy alone, not stored: the schedule only fires on weekdays with
hours and skips the rest here, so the previous business day's run is the last one that
posted, and the Tuesday after a holiday Monday covers Saturday 09:00 onwards without any
record of Monday having been skipped. A run that did not post (Slack down for all its
retries) is not remembered: its tickets still show while open, as every open ticket does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from escalator.policies.business_days import (
    closed_reason,
    next_business_slot,
    previous_business_slot,
)
from escalator.workflows.digest_contracts import DigestRequest

__all__ = ["DigestDay", "digest_day"]


@dataclass(frozen=True)
class DigestDay:
    since: datetime  # UTC
    skipped: str | None = None  # why nothing is posted today, and when the next digest is


def digest_day(req: DigestRequest, as_of: datetime) -> DigestDay:
    if req.at is None:  # a role without a digest, run by hand: the last day
        return DigestDay(since=as_of - timedelta(days=1))
    hour, minute = (int(part) for part in req.at.split(":"))
    calendar = req.calendar
    zone = ZoneInfo(calendar.timezone) if calendar else UTC
    today = as_of.astimezone(zone).date()
    if calendar is not None and req.skip_closed_days:
        reason = closed_reason(calendar, today)
        if reason is not None:
            upcoming = next_business_slot(calendar, today, hour, minute)
            return DigestDay(
                since=previous_business_slot(calendar, today, hour, minute).astimezone(UTC),
                skipped=f"skipped: {reason}; next digest {upcoming:%A %d %b %H:%M} {zone}",
            )
    since = previous_business_slot(calendar, today, hour, minute)
    return DigestDay(since=since.astimezone(UTC))
