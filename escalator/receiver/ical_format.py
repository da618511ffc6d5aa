"""RFC 5545 text for the on-call feeds: a VCALENDAR of VEVENTs, written by hand.

Small enough not to need a library (none is a dependency of escalator): every line
ends in CRLF; a content line longer than 75 octets is folded (CRLF and one space), never
inside a UTF-8 character; TEXT values escape backslash, semicolon, comma and newlines
(RFC 5545 3.3.11); times are UTC (``19980119T070000Z``, 3.3.5 form 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["FOLD_AT", "Event", "calendar", "escape_text", "fold"]

FOLD_AT = 75  # octets per line, CRLF not counted (RFC 5545 3.1)
PRODID = "-//escalator//on-call shifts//EN"


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """``line`` as one or more physical lines of at most 75 octets, CRLF-terminated."""
    data = line.encode()
    parts: list[bytes] = []
    limit = FOLD_AT
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # not inside a UTF-8 character
            cut -= 1
        parts.append(data[:cut])
        data = data[cut:]
        limit = FOLD_AT - 1  # a continuation line starts with a space
    parts.append(data)
    return "\r\n ".join(p.decode() for p in parts) + "\r\n"


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(name: str, events: Iterable[Event], stamp: datetime) -> str:
    """The whole feed; ``stamp`` is DTSTAMP (when this copy of the feed was made)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",  # RFC 7986: overrides change at short notice
    ]
    for e in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape_text(e.uid)}",
            f"DTSTAMP:{_utc(stamp)}",
            f"DTSTART:{_utc(e.start)}",
            f"DTEND:{_utc(e.end)}",
            f"SUMMARY:{escape_text(e.summary)}",
            *([f"DESCRIPTION:{escape_text(e.description)}"] if e.description else []),
            "TRANSP:TRANSPARENT",  # on call is not busy: it must not block meetings
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)
