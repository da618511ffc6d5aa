"""Lead time of cases: first event -> first completing event (DORA's lead time,
in its operations form: request to completion of one case of a journey)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from analytics.stats import summarize
from policies.journeys import Journey

__all__ = ["lead_time_summary", "lead_times"]


def lead_times(log: pl.DataFrame, journey: Journey, as_of: datetime) -> pl.DataFrame:
    """Per case seen by ``as_of``: ``case_id, started, completed, lead_time`` (seconds;
    null while the case has not completed)."""
    seen = log.lazy().filter(pl.col("timestamp") <= as_of)
    starts = seen.group_by("case_id").agg(pl.col("timestamp").min().alias("started"))
    done = (
        seen.filter(pl.col("event_name").is_in(journey.completing_events))
        .join(starts, on="case_id")
        .filter(pl.col("timestamp") >= pl.col("started"))
        .group_by("case_id")
        .agg(pl.col("timestamp").min().alias("completed"))
    )
    return (
        starts.join(done, on="case_id", how="left")
        .with_columns(
            ((pl.col("completed") - pl.col("started")).dt.total_microseconds() / 1e6).alias(
                "lead_time"
            )
        )
        .collect()
    )


def lead_time_summary(log: pl.DataFrame, journey: Journey, as_of: datetime) -> dict[str, Any]:
    """``{journey, cases, completed, in_progress, count, p50, p90, p99}``; journeys without
    completing events have no lead time (count 0)."""
    if not journey.completing_events:
        per_case = pl.DataFrame(schema={"lead_time": pl.Float64})
        cases = log.filter(pl.col("timestamp") <= as_of)["case_id"].n_unique()
    else:
        per_case = lead_times(log, journey, as_of)
        cases = per_case.height
    stats = summarize(per_case, "lead_time")
    return {
        "journey": journey.name,
        "cases": int(cases),
        "completed": stats["count"],
        "in_progress": int(cases) - stats["count"] if journey.completing_events else None,
        **stats,
    }
