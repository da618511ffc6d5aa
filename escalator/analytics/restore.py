"""Time to detect, acknowledge and restore; open exceptions by age; rework rate.

All durations are seconds. Time to restore is detected -> resolved; time to
detect is onset -> detected (how late the condition was noticed); time to
acknowledge is detected -> first acknowledgement. Each run of an exception
counts once; a reopened exception is a new run with ``reopened_from`` set.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from escalator.analytics.stats import summaries

__all__ = [
    "AGE_BUCKETS",
    "DIMENSIONS",
    "bucket_counts",
    "duration_report",
    "duration_reports",
    "durations",
    "open_by_age",
    "rework_rate",
]

DIMENSIONS = ("journey", "rule", "owner_role", "severity", "week")

# Upper edges (exclusive) of the age / duration buckets, in seconds; the last is open.
AGE_BUCKETS: list[tuple[str, float]] = [
    ("< 15m", 15 * 60),
    ("15m-1h", 3600),
    ("1h-4h", 4 * 3600),
    ("4h-24h", 24 * 3600),
    ("1d-7d", 7 * 86400),
    (">= 7d", float("inf")),
]

_SPANS = {
    "time_to_detect": ("onset", "detected_at"),
    "time_to_acknowledge": ("detected_at", "acknowledged_at"),
    "time_to_restore": ("detected_at", "resolved_at"),
}


def durations(exceptions: pl.DataFrame) -> pl.DataFrame:
    """The exceptions frame with duration columns (seconds) and the ISO week of detection."""
    return exceptions.with_columns(
        *[
            ((pl.col(end) - pl.col(start)).dt.total_microseconds() / 1e6).alias(name)
            for name, (start, end) in _SPANS.items()
        ],
        pl.col("detected_at").dt.strftime("%G-W%V").alias("week"),
    )


def duration_report(with_durations: pl.DataFrame, measure: str) -> dict[str, Any]:
    """Overall and per-dimension percentile summaries of one duration measure."""
    return duration_reports(with_durations, [measure])[measure]


def duration_reports(
    with_durations: pl.DataFrame, measures: Sequence[str] = tuple(_SPANS)
) -> dict[str, dict[str, Any]]:
    """Every measure, overall and by every dimension."""
    keyed = with_durations.select(
        *[pl.col(d).cast(pl.String).cast(pl.Categorical) for d in DIMENSIONS], *measures
    )
    out: dict[str, dict[str, Any]] = {}
    for measure in measures:
        overall, grouped = summaries(keyed, measure, DIMENSIONS)
        out[measure] = {"overall": overall, **{f"by_{d}": grouped[d] for d in DIMENSIONS}}
    return out


def bucket_counts(seconds: pl.Series) -> list[dict[str, Any]]:
    """How many values fall in each of AGE_BUCKETS (nulls ignored)."""
    values = seconds.drop_nulls()
    out, lower = [], float("-inf")
    for label, upper in AGE_BUCKETS:
        count = int(((values >= lower) & (values < upper)).sum()) if len(values) else 0
        out.append({"bucket": label, "count": count})
        lower = upper
    return out


def open_by_age(exceptions: pl.DataFrame, as_of: datetime) -> list[dict[str, Any]]:
    """Exceptions open at ``as_of`` (detected by then, not yet resolved), by age then."""
    unresolved = pl.col("resolved_at").is_null() | (pl.col("resolved_at") > as_of)
    open_ = exceptions.filter(unresolved & (pl.col("detected_at") <= as_of))
    ages = (pl.lit(as_of) - pl.col("detected_at")).dt.total_microseconds() / 1e6
    return bucket_counts(open_.select(ages.alias("age"))["age"])


def rework_rate(exceptions: pl.DataFrame, by: str | None = None) -> list[dict[str, Any]]:
    """Share of exceptions (by workflow id) that escalated beyond level 1 or reopened.

    The operations form of DORA's change failure rate: work that needed a second
    pass. An exception counts once however many runs it had (distinct ids, so
    no per-exception grouping is needed).
    """
    escalated = pl.col("highest_level") > 1
    reopened = pl.col("reopened_from").is_not_null()
    ids = pl.col("exception_id").hash()  # distinct u64s count far faster than strings
    aggs = [
        ids.n_unique().alias("exceptions"),
        ids.filter(escalated | reopened).n_unique().alias("rework"),
        ids.filter(escalated).n_unique().alias("escalated"),
        ids.filter(reopened).n_unique().alias("reopened"),
    ]
    if by:
        table = exceptions.group_by(by).agg(aggs).sort(by, nulls_last=True)
    else:
        table = exceptions.select(aggs)
    rows = []
    for row in table.iter_rows(named=True):
        for k in ("exceptions", "rework", "escalated", "reopened"):
            row[k] = int(row[k])
        row["rate"] = round(row["rework"] / row["exceptions"], 6) if row["exceptions"] else None
        rows.append(row)
    return rows
