"""The positions of a few delimiter bytes in a document, all found in one pass.

The document is walked in chunks that fit in the processor's cache, and each chunk
is searched for every delimiter while it is there: one read of the document from
memory instead of one per delimiter, and one reused mask instead of a fresh
document-sized one per search (whose page faults alone cost a third of a search).
"""

from __future__ import annotations

import numpy as np

from escalator.detectors.byte_columns import Bytes, Ints

__all__ = ["find_bytes"]

_CHUNK = 1 << 20  # measured on bpic2012: 64 KiB 130 ms, 256 KiB 105 ms, 1 MiB 100 ms


def find_bytes(doc: Bytes, start: int, delimiters: bytes) -> dict[int, Ints]:
    """For each byte of ``delimiters``, the ascending positions from ``start`` on where
    ``doc`` holds it."""
    found: dict[int, list[Ints]] = {d: [] for d in delimiters}
    mask = np.empty(min(_CHUNK, max(doc.size - start, 0)), np.bool_)
    for at in range(start, doc.size, _CHUNK):
        chunk = doc[at : at + _CHUNK]
        hits = mask[: chunk.size]
        for d, parts in found.items():
            np.equal(chunk, d, out=hits)
            where = np.flatnonzero(hits)
            where += at
            parts.append(where)
    return {
        d: np.concatenate(parts) if parts else np.zeros(0, np.int64) for d, parts in found.items()
    }
