"""SLI outcomes from a journey's event log: which cases were good, which bad, and when.

Every valid case is decided at one moment, and that moment places it in a
window (SLO compliance, burn rates, burn-down):

- availability: a case is valid once it has a valid event; it is **bad** at its
  first bad event, else **good** at its first good event, else still pending;
- latency: a case starts at its first ``start_event``; it is **good** when the
  first ``end_event`` after the start comes within the threshold (decided at
  that end), **bad** once the threshold has passed without it (decided at
  start + threshold). The threshold may depend on an attribute of the start
  event (e.g. resolution SLA by severity).

Only events at or before ``as_of`` are seen, so outcomes "as of t" are exactly
what was knowable at t. Pending cases count neither way.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from policies.journeys import SLI, AvailabilitySLI, LatencySLI

__all__ = ["OUTCOME_SCHEMA", "sli_outcomes"]

OUTCOME_SCHEMA = {
    "case_id": pl.String(),
    "decided_at": pl.Datetime("us", "UTC"),
    "good": pl.Boolean(),
}


def sli_outcomes(log: pl.DataFrame, sli: SLI, as_of: datetime) -> pl.DataFrame:
    """One row per decided case: ``case_id, decided_at, good``."""
    seen = log.lazy().filter(pl.col("timestamp") <= as_of)
    if isinstance(sli, AvailabilitySLI):
        out = _availability(seen, sli)
    else:
        out = _latency(seen, sli, as_of)
    return out.select(
        pl.col("case_id").cast(pl.String),
        pl.col("decided_at").dt.cast_time_unit("us").dt.convert_time_zone("UTC"),
        pl.col("good"),
    ).collect()


def _first(names: list[str]) -> pl.Expr:
    return pl.col("timestamp").filter(pl.col("event_name").is_in(names)).min()


def _availability(seen: pl.LazyFrame, sli: AvailabilitySLI) -> pl.LazyFrame:
    wanted = {*sli.valid_events, *sli.good_events, *sli.bad_events}
    per_case = (
        seen.filter(pl.col("event_name").is_in(list(wanted)))
        .group_by("case_id")
        .agg(
            _first(sli.valid_events).alias("valid_at"),
            _first(sli.good_events).alias("good_at"),
            (
                _first(sli.bad_events) if sli.bad_events else pl.lit(None, pl.Datetime("us", "UTC"))
            ).alias("bad_at"),
        )
        .filter(pl.col("valid_at").is_not_null())
    )
    return per_case.filter(pl.col("good_at").is_not_null() | pl.col("bad_at").is_not_null()).select(
        "case_id",
        pl.coalesce("bad_at", "good_at").alias("decided_at"),
        pl.col("bad_at").is_null().alias("good"),
    )


def _latency(seen: pl.LazyFrame, sli: LatencySLI, as_of: datetime) -> pl.LazyFrame:
    default_us = int(sli.threshold.total_seconds() * 1e6)
    attr = sli.threshold_attribute
    cols = ["case_id", "timestamp"] + ([attr] if attr else [])
    starts = (
        seen.filter(pl.col("event_name") == sli.start_event)
        .select(cols)
        .sort("timestamp")
        .group_by("case_id")
        .first()
        .rename({"timestamp": "start"})
    )
    if attr and sli.thresholds:
        mapping = {k: int(v.total_seconds() * 1e6) for k, v in sli.thresholds.items()}
        limit = (
            pl.col(attr)
            .cast(pl.String)
            .replace_strict(mapping, default=default_us, return_dtype=pl.Int64)
        )
    else:
        limit = pl.lit(default_us, pl.Int64)
    starts = starts.with_columns((pl.col("start") + pl.duration(microseconds=limit)).alias("due"))
    ends = seen.filter(pl.col("event_name") == sli.end_event).select(
        "case_id", pl.col("timestamp").alias("end")
    )
    first_end = (
        starts.select("case_id", "start")
        .join(ends, on="case_id")
        .filter(pl.col("end") >= pl.col("start"))
        .group_by("case_id")
        .agg(pl.col("end").min())
    )
    cases = starts.join(first_end, on="case_id", how="left")
    good = pl.col("end").is_not_null() & (pl.col("end") <= pl.col("due"))
    bad = ~good & (pl.col("due") <= as_of)
    return cases.filter(good | bad).select(
        "case_id",
        pl.when(good).then(pl.col("end")).otherwise(pl.col("due")).alias("decided_at"),
        good.alias("good"),
    )
