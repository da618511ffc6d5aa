"""Bottlenecks: where the waiting time between consecutive events goes.

With a journey calendar the wait is counted in business hours (the same clock the
latency rules use), so a hand-over that waits over a weekend is not blamed for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

from escalator.analytics.mining.frame import NEXT_EVENT, NEXT_TS, WAIT_S, CaseLog
from escalator.detectors.business_time import BusinessClock
from escalator.detectors.events import EVENT, TS
from escalator.policies.calendars import Calendar

__all__ = ["bottlenecks"]


def bottlenecks(log: CaseLog, calendar: Calendar | None, *, top: int = 15) -> dict[str, Any]:
    steps = log.events.filter(pl.col(NEXT_EVENT).is_not_null()).select(
        EVENT, NEXT_EVENT, TS, NEXT_TS, WAIT_S
    )
    basis = "wall_clock"
    if calendar is not None and steps.height:
        start, end = steps[TS].min(), steps[NEXT_TS].max()
        assert isinstance(start, datetime) and isinstance(end, datetime)
        clock = BusinessClock(calendar, start, end + timedelta(days=1))
        waits = clock.between(steps[TS], steps[NEXT_TS]).dt.total_microseconds() / 1e6
        steps = steps.with_columns(waits.alias(WAIT_S))
        basis = f"business_hours ({calendar.name})"
    total = float(steps[WAIT_S].sum()) if steps.height else 0.0
    by_edge = (
        steps.group_by(EVENT, NEXT_EVENT)
        .agg(
            pl.len().alias("count"),
            pl.col(WAIT_S).sum().alias("total_wait_s"),
            pl.col(WAIT_S).median().alias("median_wait_s"),
            pl.col(WAIT_S).quantile(0.9, "linear").alias("p90_wait_s"),
        )
        .sort(["total_wait_s", EVENT, NEXT_EVENT], descending=[True, False, False])
        .head(top)
    )
    by_target = (
        steps.group_by(NEXT_EVENT)
        .agg(
            pl.len().alias("count"),
            pl.col(WAIT_S).sum().alias("total_wait_s"),
            pl.col(WAIT_S).median().alias("median_wait_s"),
        )
        .sort(["total_wait_s", NEXT_EVENT], descending=[True, False])
        .head(top)
    )

    def share(v: float) -> float | None:
        return v / total if total else None

    return {
        "time_basis": basis,
        "total_wait_s": total,
        "edges": [
            {
                "source": s,
                "target": t,
                "count": c,
                "total_wait_s": float(w),
                "share_of_wait": share(w),
                "median_wait_s": float(m),
                "p90_wait_s": float(p),
            }
            for s, t, c, w, m, p in by_edge.iter_rows()
        ],
        "activities": [
            {
                "activity": a,
                "count": c,
                "waiting_before_s": float(w),
                "share_of_wait": share(w),
                "median_wait_s": float(m),
            }
            for a, c, w, m in by_target.iter_rows()
        ],
    }
