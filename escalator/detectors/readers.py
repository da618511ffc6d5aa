"""Read an event-log file (CSV, JSONL, Parquet, XES; CSV, JSONL and XES also gzipped)
into the canonical event frame.

Every reader produces a raw frame with ``source_line`` (1-based line in the file, the
header being line 1 for CSV; row number + 1 for Parquet) and hands it to
:func:`escalator.detectors.events.canonicalize`. Malformed records (a JSONL line that is not a
JSON object, a CSV row with the wrong number of fields or a field over the CSV limit,
an XES trace whose id repeats an earlier trace's) go to the quarantine. A file that
cannot be read at all (damaged gzip, broken XES, bytes that are not UTF-8) raises
:class:`LogFormatError` naming the file and line: never a traceback, never a silently
shorter log. Whether what was read is fit to judge is :mod:`escalator.detectors.log_checks`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from escalator.detectors.events import LINE, Quarantine, ReadResult, canonicalize
from escalator.detectors.log_bytes import GZIP_MAGIC, decode_text, gunzip, read_bytes
from escalator.detectors.log_errors import LogFormatError, LogRejectedError
from escalator.detectors.xes import read_xes_raw
from escalator.policies.journeys import ColumnMapping, Journey

__all__ = [
    "FORMATS",
    "LogFormatError",
    "LogRejectedError",
    "log_format",
    "read_log",
    "read_raw",
]

FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".jsonl": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson": "jsonl",
    ".ndjson.gz": "jsonl",
    ".parquet": "parquet",
    ".xes": "xes",
    ".xes.gz": "xes",
}
# The csv module's default; a longer field is quarantined (the limit guards memory).
CSV_FIELD_LIMIT = csv.field_size_limit()


def log_format(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in sorted(FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise LogFormatError(
        f"{path}: unknown event-log format; use one of {', '.join(sorted(FORMATS))}"
    )


def _bytes(path: Path) -> bytes:
    data = read_bytes(path)
    if path.name.lower().endswith(".gz"):
        data = gunzip(data, path)
    elif data[:2] == GZIP_MAGIC and log_format(path) == "xes":
        data = gunzip(data, path)  # an XES file gzipped under a plain name: read it anyway
    return data


def _read_csv(text: str, q: Quarantine) -> pl.DataFrame:
    # The csv module gives exact line numbers and lets us quarantine ragged rows
    # instead of failing the whole file the way a strict columnar reader would.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise LogFormatError(f"{q.source}:1: the CSV header cannot be read: {exc}") from None
    if header is None:
        return pl.DataFrame({LINE: pl.Series([], dtype=pl.Int64)})
    cols: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    line = reader.line_num
    while True:
        try:
            record = next(reader, None)
        except csv.Error as exc:
            start, line = line + 1, reader.line_num
            why = str(exc)
            if "field larger than field limit" in why:
                why = f"a field longer than {CSV_FIELD_LIMIT:,} characters"
            q.add(start, f"(row not kept: {why})", f"unreadable CSV row: {why}")
            continue
        if record is None:
            break
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


def _read_jsonl(text: str, q: Quarantine) -> pl.DataFrame:
    rows: list[dict[str, str | None]] = []
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and the like.
    for no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            q.add(no, line.rstrip("\r"), f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        except RecursionError:
            q.add(no, line[:200], "not valid JSON: nested too deeply")
            continue
        if not isinstance(obj, dict):
            q.add(no, line.rstrip("\r"), "not a JSON object")
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
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LogFormatError(f"{path}: not a readable Parquet file: {reason}") from None
    return frame.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64))


def read_raw(path: Path, q: Quarantine) -> pl.DataFrame:
    fmt = log_format(path)
    if not path.is_file():
        raise LogFormatError(f"{path}: no such file")
    if fmt == "parquet":
        return _read_parquet(path)
    data = _bytes(path)
    if fmt == "xes":
        return read_xes_raw(data, path, q)  # decodes in polars, not in Python
    text = decode_text(data, path)
    return _read_csv(text, q) if fmt == "csv" else _read_jsonl(text, q)


def _check_zone(zone: str, what: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise LogFormatError(
            f"{what} {zone!r} is not an IANA time zone; use a name such as 'Europe/Amsterdam'"
        ) from None


def read_log(
    path: Path,
    journey: Journey | None = None,
    *,
    mapping: ColumnMapping | None = None,
    assume_timezone: str | None = None,
) -> ReadResult:
    """Read ``path`` with the journey's column mapping, declared events and time zone.

    Timestamps written without an offset are read in ``assume_timezone`` if given, else
    in the journey's ``timezone``; with neither they are quarantined.
    """
    if assume_timezone is not None:
        _check_zone(assume_timezone, "--assume-timezone")
    zone = assume_timezone or (journey.timezone if journey else None)
    q = Quarantine(str(path))
    raw = read_raw(path, q)
    cols = mapping or (journey.columns if journey else ColumnMapping())
    declared = journey.events if journey else None
    return canonicalize(
        raw,
        cols,
        source=str(path),
        declared_events=declared,
        assume_timezone=zone,
        quarantine=q,
    )
