"""Calendars: support hours in an IANA time zone, with public holidays."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, WithJsonSchema, field_validator

from escalator.policies.base import Name, PolicyModel

__all__ = ["WEEKDAYS", "Calendar", "HolidaySource", "TimeRange", "Weekday"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE_PATTERN = r"^\s*(\d{2}):(\d{2})-(\d{2}):(\d{2})\s*$"
_RANGE = re.compile(_RANGE_PATTERN.replace("\\s*", ""))


class TimeRange(PolicyModel):
    """``09:00-17:00`` in the calendar's zone; ``24:00`` closes at midnight."""

    start: time
    """Opening time."""
    end: time | None  # None: until midnight
    """Closing time; `24:00` (none) is midnight."""

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        m = _RANGE.match(text.strip())
        if not m:
            raise ValueError(f"expected a range such as '09:00-17:00', got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValueError(f"not a valid time range: {text!r}")
        start = time(h1, m1)
        end = None if h2 == 24 else time(h2, m2)
        if end is not None and end <= start:
            raise ValueError(
                f"range {text!r} ends before it starts (overnight ranges: split at 24:00)"
            )
        return cls(start=start, end=end)


class HolidaySource(PolicyModel):
    """Public holidays from the `holidays` package, e.g. ``country: NL``."""

    country: str = Field(min_length=2, max_length=3)
    """ISO country code for public holidays, e.g. `NL`."""
    subdivision: str | None = None
    """Region within the country, e.g. a state code."""


def known_zone(v: str) -> str:
    """``v`` if it names an IANA time zone; else an error saying what to write."""
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown IANA time zone {v!r}; use a name such as 'Europe/Amsterdam'"
        ) from None
    return v


class Calendar(PolicyModel):
    name: Name
    """The calendar's name, referenced by journeys, rules, policies and digests."""
    timezone: str
    """IANA time zone, e.g. `Europe/Amsterdam`."""
    hours: Annotated[
        dict[Weekday, list[TimeRange]],
        # As written in YAML: a range or a list of ranges per weekday.
        WithJsonSchema(
            {
                "type": "object",
                "propertyNames": {"enum": list(WEEKDAYS)},
                "additionalProperties": {
                    "anyOf": [
                        {"type": "string", "pattern": _RANGE_PATTERN},
                        {"type": "array", "items": {"type": "string", "pattern": _RANGE_PATTERN}},
                    ]
                },
            }
        ),
    ]
    """Support hours per weekday (`mon` … `sun`): `'09:00-17:00'` or a list of ranges; a missing day is closed."""
    holidays: HolidaySource | None = None
    """Public holidays (closed all day)."""
    closed_dates: list[date] = Field(default_factory=list)
    """Further closed dates (`2026-12-24`)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        return known_zone(v)

    @field_validator("hours", mode="before")
    @classmethod
    def _parse_ranges(cls, v: object) -> object:
        if not isinstance(v, dict):
            return v
        out: dict[object, object] = {}
        for day, ranges in v.items():
            if isinstance(ranges, str):
                ranges = [ranges]
            if isinstance(ranges, list):
                ranges = [TimeRange.parse(r) if isinstance(r, str) else r for r in ranges]
            out[day] = ranges
        return out
