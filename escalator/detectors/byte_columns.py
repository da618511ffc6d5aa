"""Polars string columns cut straight out of a document's bytes, by (start, length) pairs.

Readers that locate fields with numpy (:mod:`escalator.detectors.xes_tags`) need the text of
those fields as a column without one Python object per value, and without copying the
text: a column is an Arrow *string view* array, whose 16-byte views hold a string of up
to 12 bytes inline and point into the document for a longer one. Building the views
takes a few vector operations per field, whatever its length; polars takes the array
over without a copy. The columns therefore keep the document's bytes alive as long as
they (or frames gathered from them) live, the price of not copying every value.

The document must be valid UTF-8 and every field must start and end at an ASCII
delimiter, so each field is valid UTF-8 too (the caller checks the document once).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
from numpy.lib.stride_tricks import as_strided

__all__ = ["Bytes", "Ints", "string_column", "windows", "words"]

Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]

_INLINE = 12  # Arrow keeps strings of up to 12 bytes inside the view
# A view's offset is an int32: a document over 2 GiB is handed over as overlapping
# pieces of SPAN * 2 bytes starting every SPAN bytes, each field going to the piece
# that starts at or before it (a field must then be shorter than SPAN).
ONE_BUFFER = (1 << 31) - 1
SPAN = 1 << 30
# Keeps bytes 0..k-1 of a little-endian 32-bit word, for k = 0..4.
_KEEP = np.array([0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF], np.uint32)


def windows(doc: Bytes, width: int) -> Bytes:
    """Every run of ``width`` bytes as a row (a view, no copy): ``windows(d, 4)[i]`` is
    ``d[i : i + 4]``, so a fancy index reads a few bytes at many places in one step."""
    rows = max(doc.size - width + 1, 0)
    return as_strided(doc, shape=(rows, width), strides=(1, 1), writeable=False)


def words(doc: Bytes, width: int) -> npt.NDArray[np.unsignedinteger]:
    """The little-endian word of ``width`` (4 or 8) bytes starting at every byte (a view,
    no copy): ``words(d, 4)[i]`` is ``d[i : i + 4]`` read as a uint32. A fancy index into
    it reads one word per place, 2-3x faster than the same bytes through ``windows``."""
    rows = max(doc.size - width + 1, 0)
    return np.ndarray((rows,), f"<u{width}", buffer=doc, strides=(1,))


def _first_bytes(doc: Bytes, starts: Ints) -> npt.NDArray[np.uint32]:
    """The 12 bytes from each start as three 32-bit words (zeros past the document)."""
    tail_from = max(doc.size - _INLINE, 0)
    tail = np.zeros(2 * _INLINE, np.uint8)
    tail[: doc.size - tail_from] = doc[tail_from:]
    near_end = starts > tail_from
    head = windows(doc, _INLINE)[np.where(near_end, 0, starts)] if doc.size >= _INLINE else None
    if head is None or near_end.any():
        padded = windows(tail, _INLINE)[np.clip(starts - tail_from, 0, _INLINE)]
        head = padded if head is None else np.where(near_end[:, None], padded, head)
    return np.ascontiguousarray(head).view("<u4")


def string_column(
    doc: Bytes, starts: Ints, lengths: Ints, valid: npt.NDArray[np.bool_] | None = None
) -> pl.Series:
    """``doc[starts[i] : starts[i] + lengths[i]]`` for each i as a String series (null
    where ``valid`` is False). ``doc`` must be the whole buffer of a ``bytes`` object."""
    n = starts.size
    if valid is not None:
        lengths = np.where(valid, lengths, 0)
    words = np.zeros((n, 4), np.uint32)  # length, then inline bytes or prefix/piece/offset
    words[:, 0] = lengths
    head = _first_bytes(doc, starts)
    for k in range(3):  # inline bytes past the string's end must be zero
        words[:, 1 + k] = head[:, k] & _KEEP[np.clip(lengths - 4 * k, 0, 4)]
    longer = np.flatnonzero(lengths > _INLINE)
    pieces = [pa.py_buffer(doc)]
    if longer.size:
        at = starts[longer]
        words[longer, 1] = head[longer, 0]  # the 4-byte prefix
        if doc.size <= ONE_BUFFER:
            words[longer, 2] = 0
            words[longer, 3] = at
        else:
            piece = at // SPAN
            assert (lengths[longer] < SPAN).all(), "a field of 1 GiB or more"
            words[longer, 2] = piece
            words[longer, 3] = at - piece * SPAN
            whole = pieces[0]
            pieces = [whole[i * SPAN : (i + 2) * SPAN] for i in range((doc.size - 1) // SPAN + 1)]
    validity = None
    if valid is not None and not valid.all():
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    array = pa.Array.from_buffers(pa.string_view(), n, [validity, pa.py_buffer(words), *pieces])
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series
