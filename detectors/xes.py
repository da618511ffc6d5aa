"""A fast XES reader: the decompressed text is cut at every ``<`` and the pieces are
classified with vectorised string operations (polars, in Rust), never one Python
object per XML node.

XES is machine-written and flat where it matters (``<trace>`` → attributes and
``<event>`` → attributes), so after the split each piece is one tag: its kind,
``key`` and ``value`` come out of column-wide string operations, the event and trace
each attribute belongs to out of running sums of the open/close tags, and a scatter
turns the (event, key, value) rows into columns. Nested attributes (lists, containers,
meta attributes with children) are skipped by tracking their depth the same way;
trace attributes become ``case:<key>`` columns, as in the process-mining convention.
XML entities in values are decoded; attributes may use either quote style.

Because the reader relies on that structure, it checks it (:func:`_check_structure`):
trace and event elements balanced and not nested in each other, attribute elements
closed, every tag ended by ``>``, the closing ``</log>`` present. A file that fails is
refused with the line of the first fault, never read as a shorter log. Comments and
CDATA sections are blanked first (keeping their newlines, so line numbers hold): an
event inside a comment is not an event. A namespace prefix on the root (``<xes:log>``)
is removed from every tag. A trace whose id repeats an earlier trace's is quarantined
(events of two cases are never merged silently).

The result is a *raw* frame of strings plus ``source_line`` (the line of the
``<event>`` tag), ready for :func:`detectors.events.canonicalize`.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import polars as pl

from detectors.events import LINE, Quarantine
from detectors.log_bytes import decode_text
from detectors.log_errors import LogFormatError

__all__ = ["read_xes_raw"]

_ATTR_NAMES = ["string", "date", "int", "float", "boolean", "id", "list", "container"]
_ATTR_HEADS = [(n + " ")[:3] for n in _ATTR_NAMES]  # "str", "dat", ..., "id "
_CLOSE_HEADS = [("/" + n)[:3] for n in _ATTR_NAMES]  # "/st", "/da", ...; <values> is not counted
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))
_NL = b"\n"
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
    blanked). Comments further on are noticed among the tags (``_tags`` returns None)
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


def _unescape(col: pl.Expr) -> pl.Expr:
    out = col
    for entity, char in _ENTITIES:
        out = out.str.replace_all(entity, char, literal=True)
    return out


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


def _tags(data: bytes, start: int, path: Path) -> pl.DataFrame | None:
    """One row per tag from the first ``<trace`` on, with its line and its place in the log."""
    first_line = data.count(b"\n", 0, start) + 1
    # Split in polars, not Python: no Python object per tag. The cast checks UTF-8.
    try:
        body = pl.Series("t", [data[start + 1 :]], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        decode_text(data, path)  # raises the error naming the line
        raise
    pieces = body.str.split("<").explode()
    t = pl.col("t")
    # Tags are told apart by their first three characters (XES element names differ
    # there): one short slice and set look-ups instead of a regex over every tag.
    head = t.str.slice(0, 3)
    tags = (
        pl.DataFrame(pieces)
        .lazy()
        .with_columns(
            # Line of each tag: newlines in all earlier pieces (each follows one "<").
            (
                t.str.count_matches("\n", literal=True).cum_sum().shift(1).fill_null(0) + first_line
            ).alias("line"),
            head.alias("head"),
            t.str.contains("/>", literal=True).alias("sc"),
            t.str.contains(">", literal=True).alias("ended"),
        )
        .with_columns(
            (pl.col("head") == "eve").alias("ev_open"),
            (pl.col("head") == "/ev").alias("ev_close"),
            (pl.col("head") == "tra").alias("tr_open"),
            (pl.col("head") == "/tr").alias("tr_close"),
            pl.col("head").is_in(_ATTR_HEADS).alias("attr"),
            pl.col("head").is_in(_CLOSE_HEADS).alias("attr_close"),
        )
    )

    def step(opened: str, closed: str) -> pl.Expr:
        return (
            pl.when(pl.col(opened) & ~pl.col("sc"))
            .then(1)
            .when(pl.col(closed))
            .then(-1)
            .otherwise(0)
            .cast(pl.Int32)
        )

    ev_step, tr_step, depth_step = (
        step("ev_open", "ev_close"),
        step("tr_open", "tr_close"),
        step("attr", "attr_close"),
    )
    opens = pl.col("ev_open").cast(pl.Int64).cum_sum()
    tags = tags.with_columns(
        (opens - 1).alias("event"),
        ev_step.cum_sum().alias("ev_depth"),  # after this tag
        tr_step.cum_sum().alias("tr_depth"),
        (pl.col("tr_open").cast(pl.Int64).cum_sum() - 1).alias("trace"),
        # Depth of attribute nesting *before* this tag: 0 = a direct child of event/trace.
        (depth_step.cum_sum() - depth_step).alias("depth"),
        depth_step.alias("depth_step"),
    )
    element = pl.col("ev_open") | pl.col("ev_close") | pl.col("tr_open") | pl.col("tr_close")
    ev_before = pl.col("ev_depth") - pl.when(pl.col("ev_open") & ~pl.col("sc")).then(1).otherwise(0)
    checks = [
        (pl.col("ev_open") & (ev_before != 0), 1),
        (pl.col("ev_open") & (pl.col("tr_depth") != 1), 2),
        (pl.col("ev_close") & (pl.col("ev_depth") != 0), 3),
        (pl.col("tr_open") & (pl.col("tr_depth") != 1) & ~pl.col("sc"), 4),
        (pl.col("tr_close") & (pl.col("tr_depth") != 0), 5),
        (pl.col("tr_close") & (pl.col("ev_depth") != 0), 6),
        (element & (pl.col("depth") != 0), 7),
        (pl.col("depth") + pl.col("depth_step") < 0, 8),
        (~pl.col("ended"), 9),
    ]
    # One OR of cheap booleans per tag; which check failed is worked out only for the
    # first bad tag (rare), so a sound file pays for one boolean column.
    problem = pl.any_horizontal([failed for failed, _ in checks])
    frame = tags.with_columns(
        problem.alias("problem"),
        (pl.col("ev_depth") > 0).alias("in_event"),
        (pl.col("tr_depth") > 0).alias("in_trace"),
    ).collect()
    if frame["head"].str.starts_with("!").any():
        return None  # a comment or CDATA among the traces: blank them, then read again
    if frame["problem"].any():
        first = frame.filter(pl.col("problem")).head(1)
        failed = first.select([f.alias(str(code)) for f, code in checks]).row(0, named=True)
        code = min(int(c) for c, hit in failed.items() if hit)
        raise LogFormatError(f"{path}:{first['line'][0]}: broken XES: {_PROBLEMS[code]}")
    last = frame.row(frame.height - 1, named=True)
    if last["ev_depth"] or last["tr_depth"]:
        inside = "<event>" if last["ev_depth"] else "<trace>"
        raise LogFormatError(
            f"{path}:{last['line']}: broken XES: the file ends inside a {inside}; it is cut short"
        )
    return frame


def _attributes(tags: pl.DataFrame, inside_event: bool) -> pl.DataFrame:
    owner = "event" if inside_event else "trace"
    rows = tags.filter(
        pl.col("attr")
        & (pl.col("depth") == 0)
        & (pl.col("in_event") if inside_event else pl.col("in_trace") & ~pl.col("in_event"))
    )
    # Writers put key="..." then value="...": a split at the quotes reads that shape
    # without a regex; anything else (other order, no value) takes the regex.
    parts = rows.select(pl.col(owner), pl.col("t"), pl.col("t").str.split_exact('"', 4).alias("s"))
    parts = parts.unnest("s")
    plain = pl.col("field_0").str.ends_with("key=") & (
        pl.col("field_2").str.strip_chars() == "value="
    )
    simple = parts.filter(plain.fill_null(False)).select(
        owner, pl.col("field_1").alias("key"), pl.col("field_3").alias("value")
    )
    # Either quote style, spaces around "=": both are legal XML.
    other = parts.filter(~plain.fill_null(False)).select(
        owner,
        pl.coalesce(
            pl.col("t").str.extract(r'\skey\s*=\s*"([^"]*)"', 1),
            pl.col("t").str.extract(r"\skey\s*=\s*'([^']*)'", 1),
        ).alias("key"),
        pl.coalesce(
            pl.col("t").str.extract(r'\svalue\s*=\s*"([^"]*)"', 1),
            pl.col("t").str.extract(r"\svalue\s*=\s*'([^']*)'", 1),
        ).alias("value"),
    )
    rows = pl.concat([simple, other]).with_columns(
        pl.when(pl.col("value").str.contains("&", literal=True))
        .then(_unescape(pl.col("value")))
        .otherwise(pl.col("value"))
        .alias("value")
    )
    numeric_refs = rows.filter(pl.col("value").str.contains("&#", literal=True))
    if numeric_refs.height:  # rare: character references, decoded one by one
        rows = rows.with_columns(
            pl.when(pl.col("value").str.contains("&#", literal=True))
            .then(pl.col("value").map_elements(html.unescape, return_dtype=pl.String))
            .otherwise(pl.col("value"))
            .alias("value")
        )
    return rows


def _spread(rows: pl.DataFrame, owner: str, n: int) -> dict[str, pl.Series]:
    """(owner, key, value) rows -> one column per key, indexed by owner number.

    A scatter per key instead of a pivot: measured ~3x cheaper on bpic2012. When a key
    repeats within one owner, the last value wins.
    """
    columns: dict[str, pl.Series] = {}
    for key in rows["key"].unique(maintain_order=True).to_list():
        if key is None:
            continue
        part = rows.filter(pl.col("key") == key)
        column = pl.Series(key, [None] * n, dtype=pl.String)
        columns[key] = column.scatter(part[owner], part["value"])
    return columns


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
    tags = _tags(data, start, path)
    if tags is None:
        data = _blank_hidden(data, path)
        tags = _tags(data, data.find(b"<trace"), path)
        assert tags is not None  # nothing left that starts with "<!"
    del data
    events = tags.filter(pl.col("ev_open")).select("trace", pl.col("line").alias(LINE))
    trace_lines = tags.filter(pl.col("tr_open"))["line"]
    n_traces = trace_lines.len()
    columns = _spread(_attributes(tags, inside_event=True), "event", events.height)
    per_trace = _spread(_attributes(tags, inside_event=False), "trace", n_traces)
    trace_of_event = events["trace"]
    for key, values in per_trace.items():
        if ("case:" + key) not in columns:
            columns["case:" + key] = values.gather(trace_of_event).alias("case:" + key)
    columns[LINE] = events[LINE].cast(pl.Int64)
    raw = pl.DataFrame(list(columns.values()))
    if "concept:name" in per_trace:
        raw = _quarantine_repeated_traces(
            raw.with_columns(trace_of_event.alias("__trace")),
            per_trace["concept:name"],
            trace_lines,
            q,
        ).drop("__trace")
    return raw
