"""Business-hours arithmetic: pure, deterministic, safe inside a Temporal workflow.

No clock, no I/O, no `holidays` look-ups: public holidays must already be
expanded into ``Calendar.closed_dates`` (``escalator.policies.snapshot.resolve_calendar``
does that when the exception's policy snapshot is made). A ``holidays`` source
left on the calendar is ignored here.

Hours are read in the calendar's IANA zone, on local dates; every instant is
compared and added in UTC, so durations are real elapsed time: the day the
clocks spring forward, a ``00:00-24:00`` day is 23 hours long, the day they
fall back 25. A wall-clock time that does not exist (inside the spring-forward
gap) is read with the offset in force before the change, as ``zoneinfo`` does
for ``fold=0``; an ambiguous one (fall-back) as its first occurrence.

Passing ``calendar=None`` means "always open": plain elapsed time.

Only aware datetimes are accepted (naive ones raise ``ValueError``): a naive
timestamp in an escalation is a bug, not a local time to guess.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from escalator.policies.calendars import WEEKDAYS, Calendar

__all__ = [
    "add_business_time",
    "business_time_between",
    "is_open",
    "next_close",
    "next_open",
    "open_intervals",
]

# A calendar with no open hour in this many days is treated as never open
# (closed_dates are finite, so only an empty `hours` gets here).
_MAX_CLOSED_DAYS = 3700
_Interval = tuple[datetime, datetime]
# Touching intervals are merged into runs of at most about this length, so a
# 24/7 calendar still yields (one run a week).
_MAX_RUN = timedelta(days=7)


def _utc(at: datetime, what: str = "datetime") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(
            f"{what} {at.isoformat()} is naive; business-hours arithmetic needs an aware "
            "datetime (with a UTC offset)"
        )
    return at.astimezone(UTC)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local(at_utc: datetime, calendar: Calendar | None) -> datetime:
    return at_utc.astimezone(_zone(calendar.timezone)) if calendar else at_utc


def _day_intervals(
    calendar: Calendar, zone: ZoneInfo, closed: frozenset[date], day: date
) -> list[_Interval]:
    if day in closed:
        return []
    out: list[_Interval] = []
    for rng in calendar.hours.get(WEEKDAYS[day.weekday()], []):
        start = datetime.combine(day, rng.start, tzinfo=zone).astimezone(UTC)
        if rng.end is None:
            end_local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        else:
            end_local = datetime.combine(day, rng.end, tzinfo=zone)
        end = end_local.astimezone(UTC)
        if end > start:
            out.append((start, end))
    return sorted(out)


def open_intervals(calendar: Calendar, since: datetime) -> Iterator[_Interval]:
    """Open intervals (UTC) that end after ``since``, in order.

    Intervals that touch (``09:00-12:00`` and ``12:00-17:00``, or midnight to
    midnight on consecutive days) are merged, into runs of at most a week.

    Infinite; raises ``ValueError`` if the calendar has no open hour at all.
    """
    since_utc = _utc(since, "since")
    zone = _zone(calendar.timezone)
    closed = frozenset(calendar.closed_dates)
    # Start a day early: a range late on the previous local day may still be open.
    day = since_utc.astimezone(zone).date() - timedelta(days=1)
    pending: _Interval | None = None
    empty_days = 0
    while True:
        intervals = _day_intervals(calendar, zone, closed, day)
        day += timedelta(days=1)
        if not intervals:
            empty_days += 1
            if empty_days > _MAX_CLOSED_DAYS:
                raise ValueError(f"calendar {calendar.name!r} is never open; give it some hours")
            continue
        empty_days = 0
        for start, end in intervals:
            touching = pending is not None and start <= pending[1]
            if pending is not None and touching and pending[1] - pending[0] < _MAX_RUN:
                pending = (pending[0], max(pending[1], end))
                continue
            if pending is not None and pending[1] > since_utc:
                yield pending
            pending = (start, end)


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar | None) -> datetime:
    """The moment ``duration`` of open time has elapsed after ``start``.

    Returned in the calendar's zone. A duration that ends exactly at closing
    time returns the closing time, not the next opening. Zero returns ``start``.
    """
    start_utc = _utc(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if calendar is None or duration == timedelta(0):
        return _local(start_utc + duration, calendar)
    remaining = duration
    for s, e in open_intervals(calendar, start_utc):
        s = max(s, start_utc)
        span = e - s
        if remaining <= span:
            return _local(s + remaining, calendar)
        remaining -= span
    raise AssertionError("unreachable: open_intervals is infinite")  # pragma: no cover


def business_time_between(a: datetime, b: datetime, calendar: Calendar | None) -> timedelta:
    """Open time between ``a`` and ``b`` (negative when ``b`` is before ``a``)."""
    a_utc, b_utc = _utc(a, "a"), _utc(b, "b")
    if b_utc < a_utc:
        return -business_time_between(b, a, calendar)
    if calendar is None:
        return b_utc - a_utc
    total = timedelta(0)
    for s, e in open_intervals(calendar, a_utc):
        if s >= b_utc:
            break
        total += min(e, b_utc) - max(s, a_utc)
    return total


def is_open(at: datetime, calendar: Calendar | None) -> bool:
    """Whether the calendar is open at ``at`` (opening time included, closing time not)."""
    at_utc = _utc(at, "at")
    if calendar is None:
        return True
    for s, e in open_intervals(calendar, at_utc):
        return s <= at_utc < e
    raise AssertionError("unreachable")  # pragma: no cover


def next_open(at: datetime, calendar: Calendar | None) -> datetime:
    """``at`` itself when open, otherwise the next opening time (in the calendar's zone)."""
    at_utc = _utc(at, "at")
    if calendar is None:
        return at_utc
    for s, _e in open_intervals(calendar, at_utc):
        return _local(max(s, at_utc), calendar)
    raise AssertionError("unreachable")  # pragma: no cover


def next_close(at: datetime, calendar: Calendar | None) -> datetime | None:
    """When the open period containing (or next after) ``at`` ends; None if always open."""
    at_utc = _utc(at, "at")
    if calendar is None:
        return None
    end: datetime | None = None
    for s, e in open_intervals(calendar, at_utc):
        if end is not None and s > end:
            break
        end = e
        if end - at_utc > timedelta(days=400):
            return None  # open around the clock
    assert end is not None
    return _local(end, calendar)
