"""`/escalator resolve ID [cause=CODE] [false-alarm | confirmed] NOTE`, read.

The learning loop's two answers ride as words right after the exception id, in any
order: ``cause=stock_sync`` (the cause code), ``false-alarm`` (the exception was not
real) or ``confirmed`` (it was). Everything after them is the note, as typed; only the
words before the note are read as options, so a note that says "customer confirmed"
stays a note. A false alarm needs no note: it gets the False-alarm button's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FALSE_ALARM_NOTE", "RESOLVE_USAGE", "SlashResolve", "parse_resolve"]

FALSE_ALARM_NOTE = "marked a false alarm in Slack"
RESOLVE_USAGE = "`/escalator resolve ID [cause=CODE] [false-alarm|confirmed] NOTE`"
_WORD = re.compile(r"\s*(\S+)")
_REAL = {"false-alarm": False, "confirmed": True}


@dataclass(frozen=True)
class SlashResolve:
    exception_id: str
    note: str
    cause: str | None = None
    real: bool | None = None  # False: a false alarm; None: not said


def parse_resolve(text: str) -> SlashResolve | str:
    """``text``: what follows ``resolve``. The request, or what is wrong with it."""
    first = _WORD.match(text)
    if first is None:
        return f"which exception? {RESOLVE_USAGE}"
    xid, pos = first.group(1), first.end()
    cause: str | None = None
    real: bool | None = None
    while (m := _WORD.match(text, pos)) is not None:
        word = m.group(1)
        if word.lower().startswith("cause="):
            if cause is not None:
                return "cause= is given twice: give one cause code"
            cause = word[len("cause=") :]
            if not cause:
                return "cause= needs a code, e.g. cause=stock_sync"
        elif word.lower() in _REAL:
            said = _REAL[word.lower()]
            if real is not None and real != said:
                return "false-alarm and confirmed contradict each other: give one"
            real = said
        else:
            break
        pos = m.end()
    note = text[pos:].strip()
    if not note:
        if real is not False:
            return f"a resolution needs a note: what was done. {RESOLVE_USAGE}"
        note = FALSE_ALARM_NOTE
    return SlashResolve(xid, note, cause, real)
