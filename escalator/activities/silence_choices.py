"""How long the Silence menu of an exception's Slack message silences its rule.

A choice's key travels in the select option's value (Slack allows 150
characters there, so keys are short); the receiver turns it back into an end
with `silence_end`: a duration from the click, the next start of the rule's
support hours, or ``None`` for "until this exception resolves".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from escalator.errors import InputError
from escalator.policies.business_hours import is_open, next_open
from escalator.policies.calendars import Calendar

__all__ = [
    "SILENCE_CHOICES",
    "SUPPORT_HOURS",
    "UNTIL_RESOLVED",
    "SilenceEndError",
    "silence_end",
]

SUPPORT_HOURS = "hours"
UNTIL_RESOLVED = "resolved"
_DURATIONS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}

# key -> the option's text, in menu order
SILENCE_CHOICES: dict[str, str] = {
    "1h": "for 1 hour",
    "4h": "for 4 hours",
    "24h": "for 24 hours",
    SUPPORT_HOURS: "until support hours start",
    UNTIL_RESOLVED: "until this exception resolves",
}


class SilenceEndError(InputError, ValueError):
    """The choice has no end now; the message says what to choose instead."""


def silence_end(choice: str, now: datetime, calendar: Calendar | None) -> datetime | None:
    """When a silence chosen at ``now`` ends; None: when the exception resolves."""
    if choice == UNTIL_RESOLVED:
        return None
    if choice in _DURATIONS:
        return now + _DURATIONS[choice]
    if choice != SUPPORT_HOURS:
        raise SilenceEndError(f"unknown silence choice {choice!r}")
    if calendar is None:
        raise SilenceEndError("this rule has no support-hours calendar: choose a time instead")
    if is_open(now, calendar):
        # Silencing through the hours someone is there to answer is rarely meant: a time
        # says how long explicitly.
        raise SilenceEndError(f"support hours ({calendar.name}) are on now: choose a time instead")
    return next_open(now, calendar)
