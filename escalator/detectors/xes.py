"""A fast XES reader: the tags are found and classified with numpy over the document's
bytes, and the values become polars columns without a copy: never one Python object
per XML node.

XES is machine-written and flat where it matters (``<trace>`` → attributes and
``<event>`` → attributes): every ``<`` starts a tag, told apart by its first bytes;
the event and trace each attribute belongs to come from running sums of the open and
close tags (:mod:`escalator.detectors.xes_tags`), keys and values from the quotes around them,
and one column per key from placing each value at its event's row
(:mod:`escalator.detectors.xes_attributes`). Nested attributes (lists, containers, meta
attributes with children) are skipped by tracking their depth the same way; trace
attributes become ``case:<key>`` columns, as in the process-mining convention. XML
entities in values are decoded; attributes may use either quote style.

Because the reader relies on that structure, it checks it: trace and event elements
balanced and not nested in each other, attribute elements closed, every tag ended by
``>``, the closing ``</log>`` present. A file that fails is refused with the line of
the first fault, never read as a shorter log. Comments and CDATA sections are blanked
(keeping their newlines, so line numbers hold): an event inside a comment is not an
event. A namespace prefix on the root (``<xes:log>``) is removed from every tag. A
trace whose id repeats an earlier trace's is quarantined (events of two cases are
never merged silently). The text from the first trace on must be UTF-8.

The result is a *raw* frame of strings plus ``source_line`` (the line of the
``<event>`` tag), ready for :func:`escalator.detectors.events.canonicalize`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

from escalator.detectors.byte_columns import Bytes, Ints
from escalator.detectors.byte_scan import find_bytes
from escalator.detectors.events import LINE, Quarantine
from escalator.detectors.log_bytes import decode_text
from escalator.detectors.log_errors import LogFormatError
from escalator.detectors.xes_attributes import Quotes, attribute_columns
from escalator.detectors.xes_tags import Lines, scan_tags

__all__ = ["read_xes_raw"]

_NL = b"\n"
_LT, _GT, _QUOTE, _NEWLINE = b'<>"\n'
_HIDDEN = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.DOTALL)
_PREFIXED_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*):log[\s>/]")


def _blank(match: re.Match[bytes]) -> bytes:
    return _NL * match.group(0).count(_NL)


def _prepared(data: bytes, path: Path) -> tuple[bytes, int]:
    """The document with a root namespace prefix removed, and where its first real trace
    starts.

    Scanning or copying the whole document costs as much as the rest of the read, so
    comments in the header are only stepped over here, with plain searches (the tags
    are read from the first trace on; blanking keeps lines, so nothing else needs them
    blanked). Comments further on are noticed among the tags (``scan_tags`` returns None)
    and only then is the whole document blanked.
    """
    start = data.find(b"<trace")
    if start < 0:  # no trace, or prefixed tags: the general (slower) way
        data = _blank_hidden(data, path)
        prefix = _PREFIXED_ROOT.search(data, 0, 1 << 20)
        if prefix:
            p = prefix.group(1)
            data = data.replace(b"<" + p + b":", b"<").replace(b"</" + p + b":", b"</")
        return data, data.find(b"<trace")
    pos = 0
    while (at := data.find(b"<!", pos, start)) >= 0:
        close = b"-->" if data.startswith(b"<!--", at) else b"]]>"
        if close == b"]]>" and not data.startswith(b"<![CDATA[", at):
            pos = at + 2  # a DOCTYPE or the like
            continue
        end = data.find(close, at + 4)
        if end < 0:
            line = data.count(b"\n", 0, at) + 1
            raise LogFormatError(f"{path}:{line}: a comment or CDATA section is never closed")
        pos = end + 3
        if pos > start:  # that <trace was inside the comment
            start = data.find(b"<trace", pos)
            if start < 0:
                return data, -1
    return data, start


def _blank_hidden(data: bytes, path: Path) -> bytes:
    if b"<!--" not in data and b"<![CDATA[" not in data:
        return data
    unclosed = [m for m in (b"<!--", b"<![CDATA[") if m in _HIDDEN.sub(b"", data)]
    if unclosed:
        at = data.rfind(unclosed[0])
        raise LogFormatError(
            f"{path}:{data.count(_NL, 0, at) + 1}: {unclosed[0].decode()} is never closed; "
            "the file is cut short or damaged"
        )
    return _HIDDEN.sub(_blank, data)


def _quarantine_repeated_traces(
    raw: pl.DataFrame, trace_ids: pl.Series, trace_lines: pl.Series, q: Quarantine
) -> pl.DataFrame:
    """Events of a trace whose id an earlier trace already used, set aside with the reason."""
    repeated = trace_ids.is_not_null() & ~trace_ids.is_first_distinct()
    if not repeated.any():
        return raw
    first = (
        pl.DataFrame({"id": trace_ids, "line": trace_lines})
        .group_by("id", maintain_order=True)
        .agg(pl.col("line").first())
    )
    first_line = dict(zip(first["id"].to_list(), first["line"].to_list(), strict=True))
    bad_traces = set(repeated.arg_true().to_list())
    is_bad = raw["__trace"].is_in(list(bad_traces))
    bad = raw.filter(is_bad).with_columns(
        pl.col("__trace")
        .map_elements(
            lambda i: (
                f"trace id {trace_ids[i]!r} repeats the trace at line "
                f"{first_line[trace_ids[i]]}: the events of two traces are not merged into one case"
            ),
            return_dtype=pl.String,
        )
        .alias("__reason")
    )
    q.extend_frame(bad.drop("__trace"), "__reason")
    return raw.filter(~is_bad)


def _scanned(data: bytes, start: int) -> tuple[Bytes, dict[int, Ints], Lines]:
    """The document as bytes, the delimiters from ``start`` on, and its line numbers."""
    doc = np.frombuffer(data, np.uint8)
    found = find_bytes(doc, start, b'<>"\n')
    return doc, found, Lines(data.count(_NL, 0, start), found[_NEWLINE])


def _check_utf8(data: bytes, start: int, path: Path) -> None:
    """The events' text (from the first trace on) must be UTF-8: every column is cut from
    it. An ASCII document, the usual case, is settled by one fast pass."""
    if data.isascii():
        return
    try:
        str(memoryview(data)[start:], "utf-8")
    except UnicodeDecodeError:
        decode_text(data, path)  # raises the error naming the line of the first bad byte
        raise


def read_xes_raw(data: bytes, path: Path, q: Quarantine) -> pl.DataFrame:
    """The raw frame of an XES document's events (``data``: the file's bytes, inflated)."""
    data, start = _prepared(data, path)
    if b"<log" not in (data if start < 0 else data[:start]):
        raise LogFormatError(f"{path}: not an XES file: no <log> element before the first trace")
    if not data[-512:].rstrip().endswith(b"log>"):  # a slice: no copy of the whole text
        raise LogFormatError(
            f"{path}:{data.count(_NL) + 1}: broken XES: the file does not end with "
            "</log>; it is cut short or has something after the log"
        )
    if start < 0:
        decode_text(data, path)  # no events, but bytes that are not UTF-8 are still named
        return pl.DataFrame({LINE: pl.Series([], dtype=pl.Int64)})
    _check_utf8(data, start, path)
    doc, found, lines = _scanned(data, start)
    tags = scan_tags(doc, found[_LT], found[_GT], path, lines)
    if tags is None:
        data = _blank_hidden(data, path)
        start = data.find(b"<trace")
        doc, found, lines = _scanned(data, start)
        tags = scan_tags(doc, found[_LT], found[_GT], path, lines)
        if tags is None:  # a "<!" left that opens neither a comment nor a CDATA section
            at = data.find(b"<!", start)
            raise LogFormatError(
                f"{path}:{data.count(_NL, 0, at) + 1}: broken XES: '<!' inside the log "
                "that opens no comment or CDATA section"
            )
    quotes = Quotes(found[_QUOTE])
    entities = data.find(b"&", start) >= 0
    ev, tr = tags.event_attributes, tags.trace_attributes
    columns = attribute_columns(
        doc, quotes, tags.at[ev], tags.end[ev], tags.event_owner, tags.events.size, entities
    )
    per_trace = attribute_columns(
        doc, quotes, tags.at[tr], tags.end[tr], tags.trace_owner, tags.traces.size, entities
    )
    trace_of_event = pl.Series("trace", tags.trace_of_event, dtype=pl.Int64)
    for key, values in per_trace.items():
        if ("case:" + key) not in columns:
            columns["case:" + key] = values.gather(trace_of_event).alias("case:" + key)
    columns[LINE] = pl.Series(LINE, lines.of(tags.at[tags.events]), dtype=pl.Int64)
    raw = pl.DataFrame(list(columns.values()))
    if "concept:name" in per_trace:
        trace_lines = pl.Series("line", lines.of(tags.at[tags.traces]), dtype=pl.Int64)
        raw = _quarantine_repeated_traces(
            raw.with_columns(trace_of_event.alias("__trace")),
            per_trace["concept:name"],
            trace_lines,
            q,
        ).drop("__trace")
    return raw
