"""A fast XES reader: the decompressed text is cut at every ``<`` and the pieces are
classified with vectorised string operations (polars, in Rust), never one Python
object per XML node.

XES is machine-written and flat where it matters (``<trace>`` → attributes and
``<event>`` → attributes), so after the split each piece is one tag: its kind,
``key`` and ``value`` come out of column-wide regex extractions, the event and trace
each attribute belongs to out of running sums of the open/close tags, and a pivot
turns the (event, key, value) rows into columns. Nested attributes (lists, containers,
meta attributes with children) are skipped by tracking their depth the same way;
trace attributes become ``case:<key>`` columns, as in the process-mining convention.
XML entities in values are decoded. Comments containing ``<`` and CDATA sections are
not supported (XES writers do not produce them inside traces).

The result is a *raw* frame of strings plus ``source_line`` (the line of the
``<event>`` tag), ready for :func:`detectors.events.canonicalize`.
"""

from __future__ import annotations

import html
import zlib
from pathlib import Path

import polars as pl

from detectors.events import LINE

__all__ = ["read_xes_raw"]

_ATTR_NAMES = ["string", "date", "int", "float", "boolean", "id", "list", "container"]
_ATTR_HEADS = [(n + " ")[:3] for n in _ATTR_NAMES]  # "str", "dat", ..., "id "
_CLOSE_HEADS = [("/" + n)[:3] for n in _ATTR_NAMES]  # "/st", "/da", ...; <values> is not counted
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


def _decompressed_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data.decode("utf-8")
    # zlib directly (faster than the gzip module); loop for multi-member gzip files.
    out = []
    while data:
        inflater = zlib.decompressobj(31)
        out.append(inflater.decompress(data))
        data = inflater.unused_data
    return b"".join(out).decode("utf-8")


def _unescape(col: pl.Expr) -> pl.Expr:
    out = col
    for entity, char in _ENTITIES:
        out = out.str.replace_all(entity, char, literal=True)
    return out


def _tags(text: str) -> pl.DataFrame:
    """One row per tag from the first ``<trace`` on, with its line and its place in the log."""
    start = text.find("<trace")
    first_line = text.count("\n", 0, start) + 1
    pieces = pl.Series("t", text[start + 1 :].split("<"))
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
        )
        .with_columns(
            (pl.col("head") == "eve").alias("ev_open"),
            (pl.col("head") == "/ev").alias("ev_close"),
            (pl.col("head") == "tra").alias("tr_open"),
            pl.col("head").is_in(_ATTR_HEADS).alias("attr"),
            pl.col("head").is_in(_CLOSE_HEADS).alias("attr_close"),
        )
    )
    self_closing = pl.col("t").str.contains("/>", literal=True)
    depth_step = (
        pl.when(pl.col("attr") & ~self_closing)
        .then(1)
        .when(pl.col("attr_close"))
        .then(-1)
        .otherwise(0)
    )
    opens = pl.col("ev_open").cast(pl.Int64).cum_sum()
    return tags.with_columns(
        (opens - 1).alias("event"),
        (opens - pl.col("ev_close").cast(pl.Int64).cum_sum() > 0).alias("in_event"),
        (pl.col("tr_open").cast(pl.Int64).cum_sum() - 1).alias("trace"),
        # Depth of attribute nesting *before* this tag: 0 = a direct child of event/trace.
        (depth_step.cum_sum() - depth_step).alias("depth"),
    ).collect()


def _attributes(tags: pl.DataFrame, inside_event: bool) -> pl.DataFrame:
    owner = "event" if inside_event else "trace"
    rows = tags.filter(
        pl.col("attr")
        & (pl.col("depth") == 0)
        & (pl.col("in_event") if inside_event else ~pl.col("in_event"))
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
    other = parts.filter(~plain.fill_null(False)).select(
        owner,
        pl.col("t").str.extract(r'\skey="([^"]*)"', 1).alias("key"),
        pl.col("t").str.extract(r'\svalue="([^"]*)"', 1).alias("value"),
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


def read_xes_raw(path: Path) -> pl.DataFrame:
    text = _decompressed_text(path)
    if "<trace" not in text:
        return pl.DataFrame({LINE: pl.Series([], dtype=pl.Int64)})
    tags = _tags(text)
    del text
    events = tags.filter(pl.col("ev_open")).select("trace", pl.col("line").alias(LINE))
    n_traces = int(tags["tr_open"].sum())
    columns = _spread(_attributes(tags, inside_event=True), "event", events.height)
    per_trace = _spread(_attributes(tags, inside_event=False), "trace", n_traces)
    trace_of_event = events["trace"]
    for key, values in per_trace.items():
        if ("case:" + key) not in columns:
            columns["case:" + key] = values.gather(trace_of_event).alias("case:" + key)
    columns[LINE] = events[LINE].cast(pl.Int64)
    return pl.DataFrame(list(columns.values()))
