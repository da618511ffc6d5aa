"""Quality: defect events / valid events over a sliding window above the threshold.

The ratio over ``(p - window, p]`` can only change when an event arrives or when one
slides out of the window, so it is evaluated exactly at those moments (every relevant
event's time and time + window, up to ``as_of``). Consecutive moments where
``valid >= min_volume`` and ``defects / valid > threshold`` form one episode: onset =
its first moment, cleared at the first moment it no longer holds. Subject =
``window@<onset>``; evidence = the defect events inside the window at the onset.

A flapping condition is one exception: an episode starting within the rule's
``reopen_window`` of the previous one clearing keeps that one's subject (see
``flapping_subjects``), so the workflow reopens it instead of raising a new one.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from escalator.detectors.events import EVENT, LINE, TS
from escalator.detectors.firing import empty_firings
from escalator.detectors.rules.common import (
    detail,
    evidence_slices,
    finish,
    flapping_subjects,
    us,
    window_subject,
)
from escalator.policies.duration import format_duration
from escalator.policies.rules import QualityRule

__all__ = ["quality_firings"]


def _episodes(events: pl.DataFrame, rule: QualityRule, as_of: datetime) -> pl.DataFrame:
    """Runs of moments where the condition holds: onset ``p``, ``cleared_at``, counts.

    Each relevant event contributes +1 at its time and -1 at its time + window (when it
    slides out of ``(p - window, p]``). In time order, running sums give the counts; of
    several changes at the same instant only the last row (all of them applied) counts.
    One lazy query, so the tens of millions of moments are never materialised.
    """
    is_valid = pl.col(EVENT).is_in(rule.valid_events) if rule.valid_events else pl.lit(True)
    is_defect = pl.col(EVENT).is_in(rule.defect_events)
    # Integer microseconds and one-byte steps: the sort below moves as little as possible.
    arrivals = events.filter(is_valid | is_defect).select(
        pl.col(TS).dt.epoch("us").alias("p"),
        is_valid.cast(pl.Int8).alias("dv"),
        is_defect.cast(pl.Int8).alias("dd"),
    )
    expiries = arrivals.select(pl.col("p") + us(rule.window), -pl.col("dv"), -pl.col("dd"))
    limit = int(as_of.timestamp() * 1_000_000)
    holds = (pl.col("v") >= rule.min_volume) & (pl.col("d") > rule.threshold * pl.col("v"))
    return (
        pl.concat([arrivals, expiries])
        .lazy()
        .sort("p")
        .with_columns(
            pl.col("dv").cast(pl.Int64).cum_sum().alias("v"),
            pl.col("dd").cast(pl.Int64).cum_sum().alias("d"),
        )
        .filter((pl.col("p") != pl.col("p").shift(-1)).fill_null(True) & (pl.col("p") <= limit))
        .with_columns(holds.alias("cond"))
        .filter((pl.col("cond") != pl.col("cond").shift(1)).fill_null(True))  # run starts
        .with_columns(pl.col("p").shift(-1).alias("cleared_at"))  # the next run's start
        .filter(pl.col("cond"))
        .select(
            pl.from_epoch("p", "us").dt.replace_time_zone("UTC").alias("onset"),
            pl.from_epoch("cleared_at", "us").dt.replace_time_zone("UTC").alias("cleared_at"),
            "v",
            "d",
        )
        .collect()
    )


def quality_firings(events: pl.DataFrame, rule: QualityRule, *, as_of: datetime) -> pl.DataFrame:
    """``events`` sorted by time and cut at ``as_of``."""
    defects = events.filter(pl.col(EVENT).is_in(rule.defect_events))
    if defects.height == 0:
        return empty_firings()
    dts = defects[TS]
    w = rule.window
    episodes = _episodes(events, rule, as_of)
    if episodes.height == 0:
        return empty_firings()
    lo = dts.search_sorted(episodes["onset"] - w, side="right").cast(pl.Int64)
    hi = dts.search_sorted(episodes["onset"], side="right").cast(pl.Int64)
    evidence = evidence_slices(episodes, lo, hi, defects[LINE])
    return flapping_subjects(
        finish(
            episodes.with_columns(
                window_subject(pl.col("onset")).alias("subject"),
                evidence,
                detail(
                    defects=pl.col("d"),
                    valid=pl.col("v"),
                    ratio=pl.col("d") / pl.col("v"),
                    threshold=pl.lit(rule.threshold),
                    window=pl.lit(format_duration(w)),
                ).alias("detail"),
            )
        ),
        rule.reopen_window,
    )
