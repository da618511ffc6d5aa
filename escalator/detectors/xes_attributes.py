"""The key and value of XES attribute tags, and the columns they make: one column per
key, one row per owner (event or trace).

Writers put ``key="..."`` then ``value="..."``, so the first four double quotes of such
a tag bound the key and the value: with the quotes found once for the whole document,
each tag's fields are positions, checked and cut for all tags at once in numpy. A tag
is read that way when the text before its first quote ends with ``key=`` and the text
between its second and third quote is ``value=`` give or take whitespace (the
*positional* shape). Any other tag (single quotes, the value first, spaces around
``=``) is read with regexes over its text: few tags in real logs, so their cost does not
matter.

When a key repeats within one owner the positional tags are taken in document order,
then the other ones, the last value winning. Values are decoded for XML entities.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from escalator.detectors.byte_columns import Bytes, Ints, string_column, words
from escalator.detectors.byte_groups import group_fields

__all__ = ["Quotes", "attribute_columns"]

_KEY_EQ = int.from_bytes(b"key=", "little")
_VALUE_EQ = int.from_bytes(b'" value=', "little")  # second quote, one space, value=
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


class Quotes:
    """The positions of every double quote from the first trace on."""

    def __init__(self, at: Ints) -> None:
        self.at = at

    def nth(self, first: Ints, j: int) -> Ints:
        """The position of the j-th quote from index ``first`` (clamped at the last one)."""
        return self.at[np.minimum(first + j, self.at.size - 1)]


@dataclass(frozen=True)
class _Fields:
    """Key and value of the positional tags (``rows``: indices into the tags given)."""

    rows: Ints
    key_start: Ints
    key_len: Ints
    value_start: Ints
    value_len: Ints
    has_value: npt.NDArray[np.bool_]


def _positional(doc: Bytes, quotes: Quotes, at: Ints, end: Ints) -> tuple[_Fields, Ints]:
    """The tags read by position, and the indices of the others."""
    if quotes.at.size == 0:
        empty = np.zeros(0, np.int64)
        return _Fields(empty, empty, empty, empty, empty, np.zeros(0, np.bool_)), np.arange(at.size)
    first = np.searchsorted(quotes.at, at)
    q0, q1, q2, q3 = (quotes.nth(first, j) for j in range(4))
    key_eq = words(doc, 4)[np.maximum(q0 - 4, 0)] == _KEY_EQ
    # The common shape, settled without looking at whitespace: four quotes in the tag,
    # and exactly '" value="' between the key and the value.
    usual = (
        (first + 3 < quotes.at.size)
        & (q3 < end)
        & key_eq
        & (q2 == q1 + 8)
        # (q2 == q1 + 8 puts the window inside the document; the clamp only keeps the
        # read in bounds for the tags that fail that test anyway)
        & (words(doc, 8)[np.minimum(q1, doc.size - 8)] == _VALUE_EQ)
    )
    rest = np.flatnonzero(~usual)
    if rest.size == 0:  # the usual file: the quote arrays are the fields, no gathers
        fields = _Fields(
            rows=np.arange(at.size),
            key_start=q0 + 1,
            key_len=q1 - q0 - 1,
            value_start=q2 + 1,
            value_len=q3 - q2 - 1,
            has_value=usual,
        )
        return fields, rest
    has_value = usual.copy()
    value_end = q3.copy()
    # The rest, as a regex split at the quotes would see it: how many quotes the tag
    # holds decides where the "value=" text and the value end.
    count = np.searchsorted(quotes.at, end[rest]) - first[rest]
    r1, r2, r3 = q1[rest], q2[rest], q3[rest]
    two = count >= 2  # else there is no "value=" text (and r1 may lie past the tag)
    gap_end = np.where(count >= 3, r2, end[rest])
    gap = string_column(doc, np.where(two, r1 + 1, 0), np.where(two, gap_end - r1 - 1, 0))
    value_eq = (gap.str.strip_chars() == "value=").to_numpy()
    shaped = two & key_eq[rest] & value_eq
    usual[rest] = shaped
    has_value[rest] = shaped & (count >= 3)
    value_end[rest] = np.where(count >= 4, r3, end[rest])
    rows = np.flatnonzero(usual)
    fields = _Fields(
        rows=rows,
        key_start=q0[rows] + 1,
        key_len=q1[rows] - q0[rows] - 1,
        value_start=q2[rows] + 1,
        value_len=np.where(has_value[rows], value_end[rows] - q2[rows] - 1, 0),
        has_value=has_value[rows],
    )
    return fields, np.flatnonzero(~usual)


def _by_regex(doc: Bytes, at: Ints, end: Ints) -> pl.DataFrame:
    """Key and value of tags of any other shape; either quote style, spaces around "="."""
    text = string_column(doc, at + 1, end - at - 1).alias("t")
    t = pl.col("t")
    return pl.DataFrame(text).select(
        pl.coalesce(
            t.str.extract(r'\skey\s*=\s*"([^"]*)"', 1), t.str.extract(r"\skey\s*=\s*'([^']*)'", 1)
        ).alias("key"),
        pl.coalesce(
            t.str.extract(r'\svalue\s*=\s*"([^"]*)"', 1),
            t.str.extract(r"\svalue\s*=\s*'([^']*)'", 1),
        ).alias("value"),
    )


def _decoded(column: pl.Series) -> pl.Series:
    """XML entities decoded: the five named ones, then (rare) character references."""
    if not column.str.contains("&", literal=True).any():
        return column
    v = pl.col("v")
    named = v
    for entity, char in _ENTITIES:
        named = named.str.replace_all(entity, char, literal=True)
    frame = pl.DataFrame(column.alias("v"))
    frame = frame.select(pl.when(v.str.contains("&", literal=True)).then(named).otherwise(v))
    if frame["v"].str.contains("&#", literal=True).any():
        refs = v.map_elements(html.unescape, return_dtype=pl.String)
        frame = frame.select(pl.when(v.str.contains("&#", literal=True)).then(refs).otherwise(v))
    return frame.to_series()


def attribute_columns(
    doc: Bytes, quotes: Quotes, at: Ints, end: Ints, owner: Ints, n: int, entities: bool
) -> dict[str, pl.Series]:
    """The attribute tags ``at``/``end`` of owners ``owner`` (numbered 0..n-1) as one
    String column of length n per key, in order of the keys' first appearance.
    ``entities``: whether the document holds an ``&`` at all (if not, no value needs
    decoding, and no column is searched for one)."""
    fields, others = _positional(doc, quotes, at, end)
    columns: dict[str, pl.Series] = {}
    for key, index in group_fields(doc, fields.key_start, fields.key_len):
        rows = fields.rows[index]
        owners = owner[rows]
        last = np.ones(owners.size, np.bool_)  # owners ascend: keep each one's last value
        last[:-1] = owners[1:] != owners[:-1]
        index, owners = index[last], owners[last]
        starts = np.zeros(n, np.int64)
        lengths = np.zeros(n, np.int64)
        valid = np.zeros(n, np.bool_)
        starts[owners] = fields.value_start[index]
        lengths[owners] = fields.value_len[index]
        valid[owners] = fields.has_value[index]
        columns[key] = string_column(doc, starts, lengths, valid).alias(key)
    if others.size:
        found = _by_regex(doc, at[others], end[others]).with_columns(
            pl.Series("owner", owner[others])
        )
        for key in found["key"].unique(maintain_order=True).to_list():
            if key is None:
                continue
            part = found.filter(pl.col("key") == key)
            # Scattered into nulls, where polars lets the last of repeated owners win
            # (over non-null values a null among them would win instead).
            over = pl.repeat(None, n, dtype=pl.String, eager=True)
            over = over.scatter(part["owner"], part["value"])
            if key in columns:
                has = np.zeros(n, np.bool_)
                has[part["owner"].to_numpy()] = True
                over = pl.select(
                    pl.when(pl.Series(has)).then(over).otherwise(columns[key])
                ).to_series()
            columns[key] = over.alias(key)
    if not entities:
        return columns
    return {key: _decoded(column).alias(key) for key, column in columns.items()}
