"""Read an event-log file (CSV, JSONL, Parquet, XES) into the canonical event frame.

Every reader produces a raw frame with ``source_line`` (1-based line in the file, the
header being line 1 for CSV; row number + 1 for Parquet) and hands it to
:func:`detectors.events.canonicalize`. Malformed records (a JSONL line that is not a
JSON object, a CSV row with the wrong number of fields) go to the quarantine too.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl

from detectors.events import LINE, Quarantine, ReadResult, canonicalize
from detectors.xes import read_xes_raw
from policies.journeys import ColumnMapping, Journey

__all__ = ["LogFormatError", "log_format", "read_log", "read_raw"]

_FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".xes": "xes",
    ".xes.gz": "xes",
}


class LogFormatError(ValueError):
    """The file is not an event log escalator can read (unknown extension, unreadable)."""


def log_format(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in sorted(_FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise LogFormatError(
        f"{path}: unknown event-log format; use one of {', '.join(sorted(_FORMATS))}"
    )


def _read_csv(path: Path, q: Quarantine) -> pl.DataFrame:
    # The csv module gives exact line numbers and lets us quarantine ragged rows
    # instead of failing the whole file the way a strict columnar reader would.
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return pl.DataFrame({LINE: pl.Series([], dtype=pl.Int64)})
        cols: list[list[str | None]] = [[] for _ in header]
        lines: list[int] = []
        line = reader.line_num
        for record in reader:
            start, line = line + 1, reader.line_num
            if not record:
                continue
            if len(record) != len(header):
                q.add(start, ",".join(record), f"{len(record)} fields, header has {len(header)}")
                continue
            for i, v in enumerate(record):
                cols[i].append(v if v != "" else None)
            lines.append(start)
    data = {h: pl.Series(h, c, dtype=pl.String) for h, c in zip(header, cols, strict=True)}
    data[LINE] = pl.Series(LINE, lines, dtype=pl.Int64)
    return pl.DataFrame(data)


def _read_jsonl(path: Path, q: Quarantine) -> pl.DataFrame:
    rows: list[dict[str, str | None]] = []
    with path.open(encoding="utf-8") as fh:
        for no, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                q.add(no, text.rstrip("\n"), f"not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(obj, dict):
                q.add(no, text.rstrip("\n"), "not a JSON object")
                continue
            row: dict[str, str | None] = {
                k: (v if isinstance(v, str) else None if v is None else json.dumps(v))
                for k, v in obj.items()
            }
            row[LINE] = str(no)
            rows.append(row)
    if not rows:
        return pl.DataFrame({LINE: pl.Series([], dtype=pl.Int64)})
    keys = list(dict.fromkeys(k for r in rows for k in r))
    frame = pl.DataFrame({k: pl.Series(k, [r.get(k) for r in rows], dtype=pl.String) for k in keys})
    return frame.with_columns(pl.col(LINE).cast(pl.Int64))


def _read_parquet(path: Path) -> pl.DataFrame:
    frame = pl.read_parquet(path)
    return frame.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64))


def read_raw(path: Path, q: Quarantine) -> pl.DataFrame:
    fmt = log_format(path)
    if not path.is_file():
        raise LogFormatError(f"{path}: no such file")
    if fmt == "csv":
        return _read_csv(path, q)
    if fmt == "jsonl":
        return _read_jsonl(path, q)
    if fmt == "parquet":
        return _read_parquet(path)
    return read_xes_raw(path)


def read_log(
    path: Path,
    journey: Journey | None = None,
    *,
    mapping: ColumnMapping | None = None,
    assume_timezone: str | None = None,
) -> ReadResult:
    """Read ``path`` with the journey's column mapping and declared events."""
    q = Quarantine(str(path))
    raw = read_raw(path, q)
    cols = mapping or (journey.columns if journey else ColumnMapping())
    declared = journey.events if journey else None
    return canonicalize(
        raw,
        cols,
        source=str(path),
        declared_events=declared,
        assume_timezone=assume_timezone,
        quarantine=q,
    )
