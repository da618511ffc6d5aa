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

from escalator.analytics.cases import case_table, col
from escalator.policies.journeys import SLI, AvailabilitySLI, LatencySLI

__all__ = ["OUTCOME_SCHEMA", "outcomes_from_cases", "sli_outcomes"]

OUTCOME_SCHEMA = {
    "case_id": pl.String(),
    "decided_at": pl.Datetime("us", "UTC"),
    "good": pl.Boolean(),
}


def sli_outcomes(log: pl.DataFrame, sli: SLI, as_of: datetime) -> pl.DataFrame:
    """One row per decided case: ``case_id, decided_at, good``."""
    return outcomes_from_cases(case_table(log, [sli], [], as_of), 0, sli, as_of)


def outcomes_from_cases(cases: pl.DataFrame, i: int, sli: SLI, as_of: datetime) -> pl.DataFrame:
    """The outcomes of the ``i``-th SLI of a :func:`escalator.analytics.cases.case_table`."""
    if isinstance(sli, AvailabilitySLI):
        out = _availability(cases, i)
    else:
        out = _latency(cases, i, sli, as_of)
    return out.select(
        pl.col("case_id").cast(pl.String),
        pl.col("decided_at").dt.cast_time_unit("us").dt.convert_time_zone("UTC"),
        pl.col("good"),
    )


def _availability(cases: pl.DataFrame, i: int) -> pl.DataFrame:
    valid, good, bad = col(i, "valid"), col(i, "good"), col(i, "bad")
    decided = pl.col(valid).is_not_null() & (pl.col(good).is_not_null() | pl.col(bad).is_not_null())
    return cases.filter(decided).select(
        "case_id",
        pl.coalesce(bad, good).alias("decided_at"),
        pl.col(bad).is_null().alias("good"),
    )


def _latency(cases: pl.DataFrame, i: int, sli: LatencySLI, as_of: datetime) -> pl.DataFrame:
    start, end = col(i, "start"), col(i, "end")
    default_us = int(sli.threshold.total_seconds() * 1e6)
    if sli.threshold_attribute and sli.thresholds:
        mapping = {k: int(v.total_seconds() * 1e6) for k, v in sli.thresholds.items()}
        limit = pl.col(col(i, "attr")).replace_strict(
            mapping, default=default_us, return_dtype=pl.Int64
        )
    else:
        limit = pl.lit(default_us, pl.Int64)
    due = pl.col(start) + pl.duration(microseconds=limit)
    started = cases.filter(pl.col(start).is_not_null()).with_columns(due.alias("due"))
    good = pl.col(end).is_not_null() & (pl.col(end) <= pl.col("due"))
    bad = ~good & (pl.col("due") <= as_of)
    return started.filter(good | bad).select(
        "case_id",
        pl.when(good).then(pl.col(end)).otherwise(pl.col("due")).alias("decided_at"),
        good.alias("good"),
    )
