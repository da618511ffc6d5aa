"""Write a deterministic extract of an XES log: its header and its first N traces, as they
are (bytes unchanged), closed with ``</log>`` and gzipped with a fixed mtime.

    python tests/data/extract.py ORIGINAL.xes.gz N OUT.xes.gz

The first N traces keep the log's density in time (the volume and quality rules judge
windows of it), which every k-th trace would not.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path


def extract(original: Path, traces: int, out: Path) -> None:
    text = gzip.decompress(original.read_bytes())
    start = text.index(b"<trace")
    end = start
    for _ in range(traces):
        end = text.index(b"</trace>", end) + len(b"</trace>")
    body = text[:end] + b"\n</log>\n"
    with out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(body)


if __name__ == "__main__":
    extract(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
