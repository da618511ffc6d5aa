"""What the models learn: remaining time to completion, and whether a latency SLI breaches.

Targets look at the whole case (that is what they are for); they are computed for
completed cases only and never enter the feature rows.
"""

from __future__ import annotations

import polars as pl

from escalator.detectors.events import CASE, EVENT, LINE, TS
from escalator.policies.journeys import Journey, LatencySLI

__all__ = ["REMAINING", "breach_column", "latency_slis", "with_targets"]

REMAINING = "remaining_s"


def breach_column(sli: LatencySLI) -> str:
    return f"breach:{sli.name}"


def latency_slis(journey: Journey) -> list[LatencySLI]:
    return [s for s in journey.slis if isinstance(s, LatencySLI)]


def case_outcomes(events: pl.DataFrame, journey: Journey) -> pl.DataFrame:
    """Per case: start, end, event count, and 1/0/null breach of each latency SLI.

    A case breaches an SLI when its ``end_event`` comes later than ``threshold`` after
    its first ``start_event``, or never comes; a case without the start event is not
    valid for the SLI (null).
    """
    cases = events.group_by(CASE).agg(
        pl.col(TS).min().alias("case_start"),
        pl.col(TS).max().alias("case_end"),
        pl.len().alias("n_events"),
    )
    for sli in latency_slis(journey):
        started = (
            events.filter(pl.col(EVENT) == sli.start_event)
            .group_by(CASE)
            .agg(pl.col(TS).min().alias("__s"))
        )
        ended = (
            events.filter(pl.col(EVENT) == sli.end_event)
            .join(started, on=CASE)
            .filter(pl.col(TS) >= pl.col("__s"))
            .group_by(CASE)
            .agg(pl.col(TS).min().alias("__e"))
        )
        limit = _threshold_s(events, sli)
        joined = (
            started.join(ended, on=CASE, how="left")
            .join(limit, on=CASE, how="left")
            .with_columns(
                pl.when(pl.col("__e").is_null())
                .then(1.0)
                .otherwise(
                    ((pl.col("__e") - pl.col("__s")).dt.total_seconds() > pl.col("__limit")).cast(
                        pl.Float64
                    )
                )
                .alias(breach_column(sli)),
                (pl.col("__s") + pl.duration(seconds=pl.col("__limit"))).alias(
                    f"deadline:{sli.name}"
                ),
            )
        )
        cases = cases.join(
            joined.select(CASE, breach_column(sli), f"deadline:{sli.name}"), on=CASE, how="left"
        )
    return cases


def _threshold_s(events: pl.DataFrame, sli: LatencySLI) -> pl.DataFrame:
    base = sli.threshold.total_seconds()
    per_case = events.select(CASE).unique()
    attr = sli.threshold_attribute
    if not attr or attr not in events.columns or not sli.thresholds:
        return per_case.with_columns(pl.lit(base).alias("__limit"))
    mapping = {k: v.total_seconds() for k, v in sli.thresholds.items()}
    first = events.sort([TS, LINE]).group_by(CASE).agg(pl.col(attr).drop_nulls().first())
    return first.select(
        CASE,
        pl.col(attr)
        .cast(pl.String)
        .replace_strict(mapping, default=base, return_dtype=pl.Float64)
        .fill_null(base)
        .alias("__limit"),
    )


def with_targets(prefixes: pl.DataFrame, outcomes: pl.DataFrame, journey: Journey) -> pl.DataFrame:
    """Prefix rows joined with their case's outcome: remaining seconds and breach labels."""
    keep = [CASE, "case_start", "case_end", "n_events"]
    for sli in latency_slis(journey):
        keep += [breach_column(sli), f"deadline:{sli.name}"]
    return prefixes.join(outcomes.select(keep), on=CASE, how="left").with_columns(
        (pl.col("case_end") - pl.col(TS)).dt.total_seconds(fractional=True).alias(REMAINING)
    )
