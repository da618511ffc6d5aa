"""Equal fields of a document grouped without making a string of each: for the keys of
XES attributes, a million fields with a handful of distinct values.

Each field is hashed from its length and its first and last 8 bytes (read as
words, one fancy index each) and the fields are grouped by that number; then every
field is compared, word by word, with the first field of its group. Should any differ
(a hash collision, or long fields that differ only in their middle), the fields are
grouped as strings instead, so the result never depends on the hash.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from escalator.detectors.byte_columns import Bytes, Ints, string_column, words

__all__ = ["group_fields"]

_WORD = 8
_LOW = np.array([(1 << (8 * k)) - 1 for k in range(_WORD + 1)], np.uint64)  # bytes 0..k-1
_MIX_HEAD, _MIX_TAIL = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)


def _as_strings(doc: Bytes, starts: Ints, lengths: Ints) -> list[tuple[str, Ints]]:
    keys = string_column(doc, starts, lengths).alias("key")
    groups = pl.DataFrame(keys).with_row_index("i").group_by("key", maintain_order=True).agg("i")
    return [
        (key, index.to_numpy().astype(np.int64))
        for key, index in zip(groups["key"].to_list(), groups["i"], strict=True)
    ]


def group_fields(doc: Bytes, starts: Ints, lengths: Ints) -> list[tuple[str, Ints]]:
    """Each distinct ``doc[start : start + length]`` in order of first appearance, decoded
    as UTF-8, with the ascending indices of the fields that hold it."""
    if starts.size == 0:
        return []
    if int((starts + np.maximum(lengths, _WORD)).max()) > doc.size:
        return _as_strings(doc, starts, lengths)  # a word would be read past the end
    word = words(doc, _WORD)
    head = word[starts] & _LOW[np.minimum(lengths, _WORD)]
    tail = np.where(lengths > _WORD, word[np.maximum(starts + lengths - _WORD, 0)], np.uint64(0))
    hashed = (head * _MIX_HEAD) ^ (tail * _MIX_TAIL) ^ lengths.astype(np.uint64)
    groups = (
        pl.DataFrame({"h": hashed}).with_row_index("i").group_by("h", maintain_order=True).agg("i")
    )
    out: list[tuple[str, Ints]] = []
    for index_series in groups["i"]:
        index = index_series.to_numpy().astype(np.int64)
        first = index[0]
        size, at = int(lengths[first]), int(starts[first])
        same = (
            (lengths[index] == size) & (head[index] == head[first]) & (tail[index] == tail[first])
        )
        # The middle of a field over two words, one word at a time from the second on
        # (all of the group's fields have this length once the first test holds).
        for offset in range(_WORD, size - _WORD, _WORD):
            if not same.all():
                break
            same &= word[starts[index] + offset] == word[at + offset]
        if not same.all():
            return _as_strings(doc, starts, lengths)
        out.append((doc[at : at + size].tobytes().decode(), index))
    return out
