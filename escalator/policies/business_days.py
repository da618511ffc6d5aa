"""Business days of a calendar: which local dates are open at all, and why one is not.

A day is a business day when the calendar has open hours on it: its weekday has
hours and the date is neither a public holiday of its ``holidays`` source nor
in ``closed_dates``. The hours arithmetic is `escalator.policies.business_hours`; this
module adds the holiday *names* (so a skipped digest can say "King's Day")
and stepping from one business day to the next. Clock-free: callers pass the
day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from escalator.policies.business_hours import open_intervals
from escalator.policies.calendars import Calendar
from escalator.policies.snapshot import resolve_calendar

__all__ = ["closed_reason", "next_business_slot", "previous_business_slot", "slot"]

# Far more than any real run of closed days (Christmas to New Year is ~5); a calendar
# with hours on no weekday at all is refused by `open_intervals` anyway.
_MAX_STEP_DAYS = 400


def _holiday_name(calendar: Calendar, day: date) -> str | None:
    if calendar.holidays is None:
        return None
    found = holidays_lib.country_holidays(
        calendar.holidays.country,
        subdiv=calendar.holidays.subdivision,
        years=[day.year],
        language="en_US",  # falls back to the country's own language when it has no English
    )
    name = found.get(day)
    return str(name) if name else None


def _has_hours(resolved: Calendar, day: date) -> bool:
    zone = ZoneInfo(resolved.timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    for s, _e in open_intervals(resolved, start):
        return s < end
    return False  # pragma: no cover - open_intervals is infinite


def closed_reason(calendar: Calendar, day: date) -> str | None:
    """None when ``day`` (a local date of the calendar) is a business day; otherwise why not,
    as a sentence: "King's Day is a holiday in nl-warehouse"."""
    resolved = resolve_calendar(calendar, datetime.combine(day, time(12)))
    if _has_hours(resolved, day):
        return None
    holiday = _holiday_name(calendar, day)
    if holiday:
        return f"{holiday} is a holiday in {calendar.name}"
    if day in calendar.closed_dates:
        return f"{calendar.name} is closed on {day:%a %d %b %Y}"
    return f"{day:%A} is not a business day in {calendar.name}"


def slot(calendar: Calendar | None, day: date, hour: int, minute: int) -> datetime:
    """``hour:minute`` on ``day`` in the calendar's zone (UTC without a calendar)."""
    zone = ZoneInfo(calendar.timezone if calendar else "UTC")
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def _step(calendar: Calendar | None, day: date, direction: int) -> date:
    for _ in range(_MAX_STEP_DAYS):
        day += timedelta(days=direction)
        if calendar is None or closed_reason(calendar, day) is None:
            return day
    raise ValueError(f"calendar {calendar and calendar.name!r} has no business day near {day}")


def next_business_slot(calendar: Calendar | None, day: date, hour: int, minute: int) -> datetime:
    """``hour:minute`` on the first business day after ``day`` (every day is one without a
    calendar)."""
    return slot(calendar, _step(calendar, day, +1), hour, minute)


def previous_business_slot(
    calendar: Calendar | None, day: date, hour: int, minute: int
) -> datetime:
    """``hour:minute`` on the last business day before ``day``."""
    return slot(calendar, _step(calendar, day, -1), hour, minute)
