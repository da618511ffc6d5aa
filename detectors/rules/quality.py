"""Quality: defect events / valid events over a sliding window above the threshold.

The ratio over ``(p - window, p]`` can only change when an event arrives or when one
slides out of the window, so it is evaluated exactly at those moments (every event
time and every event time + window, up to ``as_of``). Consecutive moments where
``valid >= min_volume`` and ``defects / valid > threshold`` form one episode: onset =
its first moment, cleared at the first moment it no longer holds. Subject =
``window@<onset>``; evidence = the defect events inside the window at the onset.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from detectors.events import EVENT, LINE, TS
from detectors.firing import empty_firings
from detectors.rules.common import detail, evidence_slices, finish, window_subject
from policies.duration import format_duration
from policies.rules import QualityRule

__all__ = ["quality_firings", "window_counts"]


def window_counts(sorted_ts: pl.Series, points: pl.Series, window: timedelta) -> pl.Series:
    """How many of ``sorted_ts`` fall in ``(p - window, p]`` for each point p."""
    upto = sorted_ts.search_sorted(points, side="right")
    before = sorted_ts.search_sorted(points - window, side="right")
    return (upto - before).cast(pl.Int64)


def quality_firings(events: pl.DataFrame, rule: QualityRule, *, as_of: datetime) -> pl.DataFrame:
    """``events`` sorted by time and cut at ``as_of``."""
    valid = events.filter(pl.col(EVENT).is_in(rule.valid_events)) if rule.valid_events else events
    defects = events.filter(pl.col(EVENT).is_in(rule.defect_events))
    if defects.height == 0 or valid.height == 0:
        return empty_firings()
    vts, dts = valid[TS], defects[TS]
    w = rule.window
    points = pl.concat([vts, dts, vts + w, dts + w]).unique().sort()
    points = points.filter(points <= as_of)
    v = window_counts(vts, points, w)
    d = window_counts(dts, points, w)
    frame = pl.DataFrame({"p": points, "v": v, "d": d}).with_columns(
        ((pl.col("v") >= rule.min_volume) & (pl.col("d") > rule.threshold * pl.col("v"))).alias(
            "cond"
        )
    )
    frame = frame.with_columns(
        (pl.col("cond") != pl.col("cond").shift(1)).fill_null(True).cum_sum().alias("run")
    )
    starts = frame.filter(pl.col("run") != pl.col("run").shift(1).fill_null(-1))
    episodes = starts.with_columns(
        pl.col("p").shift(-1).alias("cleared_at")  # the next run starts when this one ends
    ).filter(pl.col("cond"))
    if episodes.height == 0:
        return empty_firings()
    episodes = episodes.rename({"p": "onset"})
    lo = dts.search_sorted(episodes["onset"] - w, side="right").cast(pl.Int64)
    hi = dts.search_sorted(episodes["onset"], side="right").cast(pl.Int64)
    evidence = evidence_slices(episodes, lo, hi, defects[LINE])
    return finish(
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
    )
