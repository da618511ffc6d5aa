"""Latency: a case has been in a state longer than the threshold.

A case enters the state at an ``enter_events`` event (default: the event named like
the state) and leaves it at the next ``leave_events`` event (default: any event that
is not an entering one). A repeated entering event while in the state does not
restart the clock. Onset = entry + threshold (in business time when the rule says
so); it fires when the case is still in the state at the onset, i.e. onset < leave,
or, for a case still in the state, onset <= as_of.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from escalator.detectors.business_time import BusinessClock
from escalator.detectors.events import CASE, EVENT, LINE, TS
from escalator.detectors.firing import empty_firings
from escalator.detectors.rules.common import CID, detail, finish
from escalator.policies.duration import format_duration
from escalator.policies.rules import LatencyRule

__all__ = ["latency_firings"]


def latency_firings(
    events: pl.DataFrame,
    rule: LatencyRule,
    *,
    as_of: datetime,
    clock: BusinessClock | None = None,
) -> pl.DataFrame:
    """``events`` sorted by case, time, line and already cut at ``as_of``."""
    enter = rule.enter_events or [rule.state]
    is_enter = pl.col(EVENT).is_in(enter)
    is_leave = pl.col(EVENT).is_in(rule.leave_events) if rule.leave_events else pl.lit(True)
    same_case = pl.col(CID) == pl.col(CID).shift(1)
    # 1 in the state, 0 out of it, carried forward over neutral events within a case.
    raw_status = pl.when(is_enter).then(1).when(is_leave).then(0).otherwise(None).cast(pl.Int8)
    frame = events.select(CID, CASE, EVENT, TS, LINE).with_columns(
        same_case.fill_null(False).alias("__same")
    )
    frame = frame.with_columns(
        pl.when(~pl.col("__same") & raw_status.is_null())
        .then(pl.lit(0, pl.Int8))
        .otherwise(raw_status)
        .forward_fill()
        .alias("__status")
    )
    prev = pl.when(pl.col("__same")).then(pl.col("__status").shift(1)).otherwise(0)
    changes = frame.with_columns(prev.alias("__prev")).filter(
        pl.col("__status") != pl.col("__prev")
    )
    # Within a case, entries (0->1) and exits (1->0) alternate: pair each entry with
    # the row after it when that row is an exit of the same case.
    paired = changes.with_columns(
        pl.col(TS).shift(-1).alias("__next_ts"),
        pl.col(LINE).shift(-1).alias("__next_line"),
        (pl.col(CID).shift(-1) == pl.col(CID)).fill_null(False).alias("__next_same"),
    ).filter(pl.col("__status") == 1)
    if paired.height == 0:
        return empty_firings()
    entered = paired[TS]
    if rule.business_hours and clock is not None:
        onset = clock.add(entered, rule.threshold)
    else:
        onset = entered + rule.threshold
    episodes = paired.with_columns(
        onset.alias("onset"),
        pl.when(pl.col("__next_same")).then(pl.col("__next_ts")).alias("cleared_at"),
    )
    fired = episodes.filter(
        pl.col("onset").is_not_null()
        & pl.when(pl.col("cleared_at").is_null())
        .then(pl.col("onset") <= as_of)
        .otherwise(pl.col("onset") < pl.col("cleared_at"))
    )
    return finish(
        fired.with_columns(
            pl.col(CASE).alias("subject"),
            pl.concat_list(pl.col(LINE)).alias("evidence"),
            detail(
                state=pl.lit(rule.state),
                entered_at=pl.col(TS).dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ"),
                threshold=pl.lit(format_duration(rule.threshold)),
                business_hours=pl.lit(rule.business_hours),
                entered_event=pl.col(EVENT),
            ).alias("detail"),
        )
    )
