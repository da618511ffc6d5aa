"""Rework: activities repeated within a case, the loops they form, and what they cost.

The time a repeated activity costs a case is the time from its first to its last
occurrence (the span the case spent going round); self-loops are a→a edges and short
loops a→b→a.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from escalator.analytics.mining.frame import NEXT_EVENT, CaseLog
from escalator.detectors.events import CASE, EVENT, TS

__all__ = ["rework"]


def rework(log: CaseLog) -> dict[str, Any]:
    ev = log.events
    total = log.cases.height
    per = (
        # In frame order, so each loop time is summed in the same order on every run
        # (a hash group-by's order varies, and so did the sums' last bit).
        ev.group_by(CASE, EVENT, maintain_order=True)
        .agg(pl.len().alias("n"), pl.col(TS).min().alias("t0"), pl.col(TS).max().alias("t1"))
        .filter(pl.col("n") > 1)
        .with_columns(((pl.col("t1") - pl.col("t0")).dt.total_microseconds() / 1e6).alias("span_s"))
        .join(log.cases.select(CASE, "bad"), on=CASE, how="left")
    )
    acts = (
        per.group_by(EVENT)
        .agg(
            pl.len().alias("cases"),
            (pl.col("n") - 1).sum().alias("extra_occurrences"),
            pl.col("span_s").median().alias("median_loop_time_s"),
            pl.col("span_s").sum().alias("total_loop_time_s"),
            pl.col("bad").sum().alias("bad"),
            pl.col("bad").count().alias("known"),
        )
        .sort(["cases", EVENT], descending=[True, False])
    )
    self_loops = (
        ev.filter(pl.col(EVENT) == pl.col(NEXT_EVENT))
        .group_by(EVENT)
        .agg(pl.len().alias("count"), pl.col(CASE).n_unique().alias("cases"))
        .sort(["count", EVENT], descending=[True, False])
    )
    after = pl.col(NEXT_EVENT).shift(-1)
    same = pl.col(CASE).shift(-1) == pl.col(CASE)
    short = (
        ev.with_columns(pl.when(same).then(after).alias("third"))
        .filter((pl.col("third") == pl.col(EVENT)) & (pl.col(NEXT_EVENT) != pl.col(EVENT)))
        .group_by(EVENT, NEXT_EVENT)
        .agg(pl.len().alias("count"), pl.col(CASE).n_unique().alias("cases"))
        .sort(["count", EVENT, NEXT_EVENT], descending=[True, False, False])
    )
    rework_cases = per[CASE].n_unique()
    return {
        "cases_with_rework": rework_cases,
        "share_of_cases": rework_cases / total if total else None,
        "activities": [
            {
                "activity": a,
                "cases": c,
                "share_of_cases": c / total,
                "extra_occurrences": x,
                "median_loop_time_s": float(med),
                "total_loop_time_s": float(tot),
                "bad_rate": (b / k) if log.outcome is not None and k else None,
            }
            for a, c, x, med, tot, b, k in acts.iter_rows()
        ],
        "self_loops": [
            {"activity": a, "count": n, "cases": c} for a, n, c in self_loops.iter_rows()
        ],
        "short_loops": [
            {"loop": [a, b, a], "count": n, "cases": c} for a, b, n, c in short.iter_rows()
        ],
    }
