"""Where the tags of an XES document are, what each one is, and whether the structure
holds: numpy over the document's bytes, one array element per tag, never a Python
object per tag.

A tag starts at a ``<``; its text runs to the next ``<``. Tags are told apart by the
three characters after the ``<`` (XES element names differ there), read for every tag
at once as one 32-bit word. Depths come from running sums of the open and close tags:
an attribute is a direct child of an event or a trace when no other attribute element
is open around it (children of lists and containers are skipped that way).

The structure is checked with one OR of boolean arrays; which check failed is worked
out in Python for the first bad tag only, so a sound file pays for a few vector
operations. A tag starting with ``<!`` (a comment or CDATA section among the traces)
makes :func:`scan_tags` return None: the caller blanks those and scans again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from escalator.detectors.byte_columns import Bytes, Ints, words
from escalator.detectors.log_errors import LogFormatError

__all__ = ["Lines", "Tags", "scan_tags"]

Bools = npt.NDArray[np.bool_]


def _word(text: str) -> int:
    """The 32-bit little-endian word of a tag's first four bytes, ``<`` included."""
    return int.from_bytes(("<" + text).encode()[:4], "little")


_ATTR_NAMES = ["string", "date", "int", "float", "boolean", "id ", "list", "container"]
_ATTR_OPEN = np.array([_word(n) for n in _ATTR_NAMES], np.uint32)  # "<id " needs its space
_ATTR_CLOSE = np.array([_word("/" + n) for n in _ATTR_NAMES], np.uint32)  # "</values>" is not one
_EVENT, _EVENT_END = _word("eve"), _word("/ev")
_TRACE, _TRACE_END = _word("tra"), _word("/tr")
_SLASH, _BANG = ord("/"), ord("!")

_PROBLEMS = {
    1: "<event> opened inside another <event> (a </event> is missing before it)",
    2: "<event> outside a <trace>",
    3: "</event> without an open <event>",
    4: "<trace> opened inside another <trace> (a </trace> is missing before it)",
    5: "</trace> without an open <trace>",
    6: "</trace> while an <event> is still open (a </event> is missing)",
    7: "an attribute element before this tag is not closed (a '/>' or closing tag is missing)",
    8: "a closing attribute tag without an opening one",
    9: "a tag that is not ended by '>' (a '<' inside a value, or a broken element)",
}


class Lines:
    """Line numbers of byte positions from ``start`` on: a binary search among the
    newlines (only events, traces and the tag at fault need a line)."""

    def __init__(self, before: int, newlines: Ints) -> None:
        self._first = before + 1  # the line at start: newlines before it, plus one
        self._newlines = newlines  # the newlines from start on

    def of(self, positions: Ints) -> Ints:
        return np.searchsorted(self._newlines, positions) + self._first

    def at(self, position: int) -> int:
        return int(np.searchsorted(self._newlines, position)) + self._first


@dataclass(frozen=True)
class Tags:
    at: Ints  # where each tag's "<" is
    end: Ints  # where its text ends: the next "<", or the end of the document
    events: Ints  # indices (into at) of <event> tags
    traces: Ints  # indices of <trace> tags
    trace_of_event: Ints  # the trace number of each event
    event_attributes: Ints  # indices of attribute tags that are direct children of an event
    event_owner: Ints  # the event number of each
    trace_attributes: Ints  # indices of attribute tags that are direct children of a trace
    trace_owner: Ints


def _steps(opened: Bools, closed: Bools, self_closed: Bools) -> npt.NDArray[np.int32]:
    """+1 where an element opens (and is not ``<x/>``), -1 where one closes."""
    return (opened & ~self_closed).astype(np.int32) - closed.astype(np.int32)


def _endings(doc: Bytes, at: Ints, end: Ints, closes: Ints) -> tuple[Bools, Bools]:
    """For each tag: whether its text holds a ``>`` and whether it holds a ``/>``."""
    slash = doc[closes - 1] == _SLASH
    if closes.size == at.size and (closes > at).all() and (closes < end).all():
        # The usual file: exactly one ">" per tag, so no search is needed.
        return np.ones(at.size, np.bool_), slash
    owner = np.searchsorted(at, closes, side="right") - 1  # every ">" here is after at[0]
    ended = np.zeros(at.size, np.bool_)
    ended[owner] = True
    self_closed = np.zeros(at.size, np.bool_)
    self_closed[owner[slash]] = True
    return ended, self_closed


def scan_tags(doc: Bytes, at: Ints, closes: Ints, path: Path, lines: Lines) -> Tags | None:
    """The tags whose ``<`` are at ``at`` (from the first ``<trace`` on; ``closes``: the
    ``>`` from there on); LogFormatError naming the line of the first fault when the
    structure does not hold."""
    end = np.empty_like(at)
    end[:-1] = at[1:]
    end[-1] = doc.size
    # The caller has checked that the document ends with "log>", so every "<" has three
    # bytes after it; the clamp only keeps a broken caller from reading past the end.
    heads = words(doc, 4)[np.minimum(at, doc.size - 4)]
    if ((heads >> 8) & 0xFF == _BANG).any():
        return None
    ended, self_closed = _endings(doc, at, end, closes)
    ev_open, ev_close = heads == _EVENT, heads == _EVENT_END
    tr_open, tr_close = heads == _TRACE, heads == _TRACE_END
    attr = np.isin(heads, _ATTR_OPEN)
    ev_step = _steps(ev_open, ev_close, self_closed)
    tr_step = _steps(tr_open, tr_close, self_closed)
    attr_step = _steps(attr, np.isin(heads, _ATTR_CLOSE), self_closed)
    ev_depth = np.cumsum(ev_step)  # after each tag
    tr_depth = np.cumsum(tr_step)
    depth = np.cumsum(attr_step) - attr_step  # attribute nesting before each tag
    element = ev_open | ev_close | tr_open | tr_close
    bad = ~ended
    bad |= ev_open & ((ev_depth - ev_step != 0) | (tr_depth != 1))
    bad |= ev_close & (ev_depth != 0)
    bad |= tr_open & ~self_closed & (tr_depth != 1)
    bad |= tr_close & ((tr_depth != 0) | (ev_depth != 0))
    bad |= element & (depth != 0)
    bad |= depth + attr_step < 0
    first = int(np.argmax(bad))
    if bad[first]:
        i = first
        failed = [
            ev_open[i] and ev_depth[i] - ev_step[i] != 0,
            ev_open[i] and tr_depth[i] != 1,
            ev_close[i] and ev_depth[i] != 0,
            tr_open[i] and tr_depth[i] != 1 and not self_closed[i],
            tr_close[i] and tr_depth[i] != 0,
            tr_close[i] and ev_depth[i] != 0,
            element[i] and depth[i] != 0,
            depth[i] + attr_step[i] < 0,
            not ended[i],
        ]
        code = failed.index(True) + 1
        raise LogFormatError(f"{path}:{lines.at(int(at[i]))}: broken XES: {_PROBLEMS[code]}")
    if ev_depth[-1] or tr_depth[-1]:
        inside = "<event>" if ev_depth[-1] else "<trace>"
        raise LogFormatError(
            f"{path}:{lines.at(int(at[-1]))}: broken XES: the file ends inside a {inside}; "
            "it is cut short"
        )
    direct = attr & (depth == 0)
    in_event = ev_depth > 0
    event_attributes = np.flatnonzero(direct & in_event)
    trace_attributes = np.flatnonzero(direct & (tr_depth > 0) & ~in_event)
    event_no = np.cumsum(ev_open) - 1
    trace_no = np.cumsum(tr_open) - 1
    events = np.flatnonzero(ev_open)
    return Tags(
        at=at,
        end=end,
        events=events,
        traces=np.flatnonzero(tr_open),
        trace_of_event=trace_no[events],
        event_attributes=event_attributes,
        event_owner=event_no[event_attributes],
        trace_attributes=trace_attributes,
        trace_owner=trace_no[trace_attributes],
    )
