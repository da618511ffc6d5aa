"""The canonical event frame every reader produces, and the quarantine of bad rows.

Readers hand over a *raw* frame (source columns, ``source_line``); :func:`canonicalize`
maps it through the journey's :class:`ColumnMapping` to the canonical columns

    case_id (str) · event_name (str) · timestamp (Datetime UTC) · utc_offset_s (Int32:
    the offset the source wrote, so business hours use the real local time) · actor ·
    lifecycle · source_line (Int64) · attribute columns

and splits off every row that cannot be used, with the reason, so nothing is dropped
silently and one bad row never stops a run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from escalator.detectors.log_errors import LogFormatError
from escalator.policies.journeys import ColumnMapping

__all__ = [
    "ACTOR",
    "CASE",
    "CORE_COLUMNS",
    "EVENT",
    "LIFECYCLE",
    "LINE",
    "OFFSET",
    "TS",
    "ZONELESS",
    "Quarantine",
    "ReadResult",
    "canonicalize",
    "empty_events",
]

CASE, EVENT, TS, OFFSET = "case_id", "event_name", "timestamp", "utc_offset_s"
ACTOR, LIFECYCLE, LINE = "actor", "lifecycle", "source_line"
CORE_COLUMNS = (CASE, EVENT, TS, OFFSET, ACTOR, LIFECYCLE, LINE)
TS_DTYPE = pl.Datetime("us", "UTC")

_DATE_TIME_SEP = r"^(\d{4}-\d{2}-\d{2})[ T]"
_OFFSET = r"(Z|z|[+-]\d{2}:?\d{2})$"
_CANONICAL = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$"
_NO_SECONDS = r"T(\d{2}):(\d{2})($|[Zz+-].*)"  # 09:30 -> 09:30:00
ZONELESS = "zone-less timestamp"  # the start of that quarantine reason (log_checks looks for it)
_NAIVE = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"


@dataclass
class Quarantine:
    """Rows set aside, one JSON object per row: source, line, raw row, reason."""

    source: str
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, line: int | None, raw: dict[str, object] | str, reason: str) -> None:
        self.rows.append({"source": self.source, "line": line, "raw": raw, "reason": reason})

    def extend_frame(self, frame: pl.DataFrame, reason_col: str) -> None:
        for row in frame.iter_rows(named=True):
            reason = row.pop(reason_col)
            line = row.pop(LINE, None)
            raw = {k: _jsonable(v) for k, v in row.items() if v is not None}
            self.add(line, raw, reason)

    def __len__(self) -> int:
        return len(self.rows)

    def write(self, path: Path, *, append: bool = False) -> None:
        """Write (or append: several polls may share one file) the rows as JSONL."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a" if append else "w", encoding="utf-8") as fh:
            for row in self.rows:
                fh.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")


@dataclass
class ReadResult:
    events: pl.DataFrame
    quarantine: Quarantine


def _jsonable(v: object) -> object:
    return v if isinstance(v, str | int | float | bool) else str(v)


def empty_events(attributes: Iterable[str] = ()) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        CASE: pl.String(),
        EVENT: pl.String(),
        TS: TS_DTYPE,
        OFFSET: pl.Int32(),
        ACTOR: pl.String(),
        LIFECYCLE: pl.String(),
        LINE: pl.Int64(),
    }
    schema.update({a: pl.String() for a in attributes})
    return pl.DataFrame(schema=schema)


def _normalized_timestamps(col: pl.Expr, canonical: bool) -> list[pl.Expr]:
    """ISO-8601 text in one shape (``T`` separator, seconds present) and its offset part.

    Materialised once as columns, so the parses below do not redo the regex work. When
    every value already has the canonical shape (most machine-written logs), the
    normalising regexes are skipped.
    """
    if canonical:
        text = col.cast(pl.String)
        off = pl.when(text.str.ends_with("Z")).then(pl.lit("Z")).otherwise(text.str.slice(-6))
        return [text.alias("__tstext"), off.alias("__tsoff")]
    text = (
        col.cast(pl.String)
        .str.strip_chars()
        .str.replace(_DATE_TIME_SEP, "${1}T")
        .str.replace(_NO_SECONDS, "T${1}:${2}:00${3}")
    )
    return [text.alias("__tstext"), text.str.extract(_OFFSET, 1).alias("__tsoff")]


def _parse_string_timestamps(assume_timezone: str | None, canonical: bool) -> list[pl.Expr]:
    """UTC instant + original offset from ISO-8601 strings; zone-less ones only with a default.

    ``canonical``: every value has the one ISO-8601 shape with ``T``, seconds and an
    offset ``Z`` or ``±hh:mm``, so the offset digits are read at fixed places instead of
    through a regex (that regex was a third of canonicalising a large log), and the
    instant with chrono's RFC 3339 reader.
    """
    text, off = pl.col("__tstext"), pl.col("__tsoff")
    sign = pl.when(off.str.starts_with("-")).then(-1).otherwise(1)
    if canonical:
        hours, minutes, utc = off.str.slice(1, 2), off.str.slice(4, 2), off == "Z"
    else:
        digits = off.str.replace_all(r"[^0-9]", "")
        hours, minutes = digits.str.slice(0, 2), digits.str.slice(2, 2)
        utc = off.str.to_uppercase() == "Z"
    offset_s = (
        pl.when(utc)
        .then(0)
        .otherwise(
            sign
            * (
                hours.cast(pl.Int32, strict=False) * 3600
                + minutes.cast(pl.Int32, strict=False) * 60
            )
        )
    )
    if canonical:
        # chrono's RFC 3339 reader: the same instants for these shapes (checked on 400,000
        # random ones, invalid dates, leap seconds and long fractions included) in 60 % of
        # the time; the values are nearly all distinct, so polars' cache only costs.
        aware = text.str.to_datetime("%+", strict=False, time_zone="UTC", cache=False)
    else:
        aware = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_zone="UTC")
    if assume_timezone is None:
        return [aware.alias(TS), offset_s.cast(pl.Int32).alias(OFFSET)]
    local = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False).dt.replace_time_zone(
        assume_timezone, ambiguous="earliest", non_existent="null"
    )
    local_off = (local.dt.base_utc_offset() + local.dt.dst_offset()).dt.total_seconds()
    return [
        pl.when(off.is_null()).then(local.dt.convert_time_zone("UTC")).otherwise(aware).alias(TS),
        pl.when(off.is_null()).then(local_off).otherwise(offset_s).cast(pl.Int32).alias(OFFSET),
    ]


def _datetime_timestamps(
    col: pl.Expr, dtype: pl.Datetime, assume_timezone: str | None
) -> list[pl.Expr]:
    zone = dtype.time_zone or assume_timezone
    if zone is None:  # naive datetimes and no default zone: every row is zone-less
        return [pl.lit(None, TS_DTYPE).alias(TS), pl.lit(None, pl.Int32).alias(OFFSET)]
    local = col if dtype.time_zone else col.dt.replace_time_zone(zone, ambiguous="earliest")
    offset = (local.dt.base_utc_offset() + local.dt.dst_offset()).dt.total_seconds()
    return [
        local.dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias(TS),
        offset.cast(pl.Int32).alias(OFFSET),
    ]


def canonicalize(
    raw: pl.DataFrame,
    mapping: ColumnMapping,
    *,
    source: str,
    declared_events: Iterable[str] | None = None,
    assume_timezone: str | None = None,
    quarantine: Quarantine | None = None,
) -> ReadResult:
    """Map ``raw`` (which must have ``source_line``) to the canonical frame.

    Rows without a case id, with an unparsable or zone-less timestamp (unless
    ``assume_timezone`` names the zone the source wrote in), without an event name,
    or with an event the journey does not declare go to the quarantine.
    """
    q = quarantine if quarantine is not None else Quarantine(source)
    missing = [
        c for c in (mapping.case_id, mapping.event_name, mapping.timestamp) if c not in raw.columns
    ]
    if missing and raw.height:
        raise LogFormatError(
            f"{source}: column(s) {', '.join(missing)} not found (columns: "
            f"{', '.join(c for c in raw.columns if c != LINE)}); map them in the journey's "
            "'columns:' section"
        )
    if raw.height == 0:
        return ReadResult(empty_events(), q)
    source_cols = list(raw.columns)
    canonical = False  # every timestamp written as ISO-8601 with an offset (no zone-less ones)
    ts_dtype = raw.schema[mapping.timestamp]
    ts_col = pl.col(mapping.timestamp)
    if isinstance(ts_dtype, pl.Datetime):
        ts_exprs = _datetime_timestamps(ts_col, ts_dtype, assume_timezone)
    else:
        canonical = bool(raw.select(ts_col.cast(pl.String).str.contains(_CANONICAL).all()).item())
        raw = raw.with_columns(_normalized_timestamps(ts_col, canonical))
        ts_exprs = _parse_string_timestamps(assume_timezone, canonical)
    core = {mapping.case_id, mapping.event_name, mapping.timestamp, mapping.actor, LINE}
    if mapping.lifecycle:
        core.add(mapping.lifecycle)
    wanted = mapping.attributes or [c for c in source_cols if c not in core]
    attrs = [c for c in wanted if c in source_cols and c not in CORE_COLUMNS]

    def text(name: str | None) -> pl.Expr:
        if name and name in source_cols:
            return pl.col(name).cast(pl.String).str.strip_chars()
        return pl.lit(None, pl.String)

    frame = raw.with_columns(
        text(mapping.case_id).alias("__case"),
        text(mapping.event_name).alias("__event"),
        *[e.name.prefix("__") for e in ts_exprs],
    )
    declared = list(declared_events) if declared_events is not None else None
    raw_ts = pl.col(mapping.timestamp)
    # Checks in order of precedence; a row gets the first that fails. Codes, not texts,
    # are computed per row: only the few bad rows get their message.
    checks: list[tuple[pl.Expr, str]] = [
        (
            pl.col("__case").is_null() | (pl.col("__case") == ""),
            f"no case id (column {mapping.case_id!r})",
        ),
        (
            pl.col("__event").is_null() | (pl.col("__event") == ""),
            f"no event name (column {mapping.event_name!r})",
        ),
        (raw_ts.is_null(), f"no timestamp (column {mapping.timestamp!r})"),
    ]
    if assume_timezone is None and not canonical:
        if isinstance(ts_dtype, pl.Datetime):
            zoneless = pl.lit(ts_dtype.time_zone is None)
        else:
            zoneless = raw_ts.cast(pl.String).str.strip_chars().str.contains(_NAIVE)
        checks.append(
            (
                pl.col("__" + TS).is_null() & zoneless,
                f"{ZONELESS} in column {mapping.timestamp!r}: write an offset (e.g. +01:00), "
                "set the journey's 'timezone:' or pass --assume-timezone",
            )
        )
    checks.append(
        (
            pl.col("__" + TS).is_null(),
            f"unparsable timestamp in column {mapping.timestamp!r} (expected ISO-8601 with offset)",
        )
    )
    if declared is not None:
        checks.append(
            (
                pl.col("__event").is_in(declared).not_(),
                "event name not declared in the journey's 'events'",
            )
        )
    code: pl.Expr = pl.lit(0, pl.Int8)
    for i, (failed, _) in reversed(list(enumerate(checks, start=1))):
        code = pl.when(failed).then(pl.lit(i, pl.Int8)).otherwise(code)
    frame = frame.with_columns(code.alias("__reason"))
    bad = frame.filter(pl.col("__reason") > 0)
    if bad.height:
        texts = {i: text for i, (_, text) in enumerate(checks, start=1)}
        bad = bad.with_columns(pl.col("__reason").replace_strict(texts, return_dtype=pl.String))
        q.extend_frame(bad.select([*source_cols, "__reason"]), "__reason")
    good = frame.filter(pl.col("__reason") == 0)
    events = good.select(
        pl.col("__case").alias(CASE),
        pl.col("__event").alias(EVENT),
        pl.col("__" + TS).alias(TS),
        pl.col("__" + OFFSET).alias(OFFSET),
        text(mapping.actor).alias(ACTOR),
        text(mapping.lifecycle).alias(LIFECYCLE),
        pl.col(LINE).cast(pl.Int64),
        *[pl.col(a) for a in attrs],
    )
    # Rows in line order (every reader's) make a stable sort on the time alone the same
    # as one on (time, line), and a single key sorts in half the time.
    by = [TS] if events[LINE].is_sorted() else [TS, LINE]
    return ReadResult(events.sort(by, maintain_order=True), q)
