"""Lead time of cases: first event -> first completing event (DORA's lead time,
in its operations form: request to completion of one case of a journey)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from escalator.analytics.cases import case_table
from escalator.analytics.stats import summarize
from escalator.policies.journeys import Journey

__all__ = ["lead_time_summary", "lead_times", "lead_times_from_cases"]


def lead_times(log: pl.DataFrame, journey: Journey, as_of: datetime) -> pl.DataFrame:
    """Per case seen by ``as_of``: ``case_id, started, completed, lead_time`` (seconds;
    null while the case has not completed)."""
    return lead_times_from_cases(case_table(log, [], journey.completing_events, as_of))


def lead_times_from_cases(cases: pl.DataFrame) -> pl.DataFrame:
    return cases.select(
        "case_id",
        pl.col("first_at").alias("started"),
        pl.col("completed_at").alias("completed"),
        ((pl.col("completed_at") - pl.col("first_at")).dt.total_microseconds() / 1e6).alias(
            "lead_time"
        ),
    )


def lead_time_summary(
    log: pl.DataFrame, journey: Journey, as_of: datetime, cases: pl.DataFrame | None = None
) -> dict[str, Any]:
    """``{journey, cases, completed, in_progress, count, p50, p90, p99}``; journeys without
    completing events have no lead time (count 0). Pass ``cases`` (a case table of the
    same log) to skip the pass over the log."""
    if cases is None:
        cases = case_table(log, [], journey.completing_events, as_of)
    per_case = lead_times_from_cases(cases)
    stats = summarize(per_case, "lead_time")
    return {
        "journey": journey.name,
        "cases": cases.height,
        "completed": stats["count"],
        "in_progress": cases.height - stats["count"] if journey.completing_events else None,
        **stats,
    }
