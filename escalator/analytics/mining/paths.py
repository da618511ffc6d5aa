"""Variants and the directly-follows graph with frequency and waiting times.

Quantiles are linear interpolations between order statistics (numpy's default; the
median is the midpoint of the two middle values), which is what the tests' plain-Python
oracle computes.
"""

from __future__ import annotations

import itertools
from typing import Any

import polars as pl

from escalator.analytics.mining.frame import NEXT_EVENT, WAIT_S, CaseLog
from escalator.detectors.events import CASE, EVENT

__all__ = ["directly_follows", "edge_coverage", "variants"]

SEP = "\x1f"


def _f(v: object) -> float | None:
    return None if v is None else float(v)  # type: ignore[arg-type]


def variants(log: CaseLog) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Per variant: count, share, cumulative coverage, duration median/p90, bad-outcome rate.

    Ordered by count (most frequent first), ties by the activity sequence, so the
    coverage column is well defined.
    """
    total = log.cases.height
    table = (
        log.cases.group_by("trace")
        .agg(
            pl.len().alias("count"),
            pl.col("duration_s").median().alias("median_duration_s"),
            pl.col("duration_s").quantile(0.9, "linear").alias("p90_duration_s"),
            pl.col("bad").sum().alias("bad"),
            pl.col("bad").count().alias("known"),
        )
        .sort(["count", "trace"], descending=[True, False])
        .with_columns(
            (pl.col("count") / total).alias("share"),
            (pl.col("count").cum_sum() / total).alias("coverage"),
            pl.int_range(pl.len()).alias("rank"),
        )
    )
    rows = []
    for r in table.iter_rows(named=True):
        known = r["known"]
        rows.append(
            {
                "rank": r["rank"] + 1,
                "activities": r["trace"].split(SEP) if r["trace"] else [],
                "count": r["count"],
                "share": r["share"],
                "coverage": r["coverage"],
                "median_duration_s": _f(r["median_duration_s"]),
                "p90_duration_s": _f(r["p90_duration_s"]),
                "bad": r["bad"] if log.outcome is not None else None,
                "bad_rate": (r["bad"] / known) if log.outcome is not None and known else None,
            }
        )
    return table, rows


def directly_follows(log: CaseLog) -> dict[str, Any]:
    """Activities, start/end counts and the edges a→b (b directly after a in a case)."""
    ev = log.events
    nodes = ev.group_by(EVENT).agg(pl.len().alias("count"), pl.col(CASE).n_unique().alias("cases"))
    starts = ev.group_by(CASE, maintain_order=True).agg(pl.col(EVENT).first()).group_by(EVENT).len()
    ends = ev.filter(pl.col(NEXT_EVENT).is_null()).group_by(EVENT).len()
    edges = (
        ev.filter(pl.col(NEXT_EVENT).is_not_null())
        .group_by(EVENT, NEXT_EVENT)
        .agg(
            pl.len().alias("count"),
            pl.col(WAIT_S).median().alias("median_wait_s"),
            pl.col(WAIT_S).quantile(0.9, "linear").alias("p90_wait_s"),
            pl.col(WAIT_S).mean().alias("mean_wait_s"),
            pl.col(WAIT_S).sum().alias("total_wait_s"),
        )
        .sort(["count", EVENT, NEXT_EVENT], descending=[True, False, False])
    )
    return {
        "activities": [
            {"activity": a, "count": c, "cases": k}
            for a, c, k in nodes.sort(["count", EVENT], descending=[True, False]).iter_rows()
        ],
        "start": dict(sorted(starts.iter_rows())),
        "end": dict(sorted(ends.iter_rows())),
        "edges": [
            {
                "source": s,
                "target": t,
                "count": c,
                "median_wait_s": _f(med),
                "p90_wait_s": _f(p90),
                "mean_wait_s": _f(mean),
                "total_wait_s": _f(tot),
            }
            for s, t, c, med, p90, mean, tot in edges.iter_rows()
        ],
    }


def edge_coverage(variant_table: pl.DataFrame) -> dict[tuple[str, str], float]:
    """For each edge and activity, the variant coverage at which it first appears: the
    HTML's coverage filter shows only what the most frequent variants up to a share use."""
    seen: dict[tuple[str, str], float] = {}
    for trace, coverage in variant_table.select("trace", "coverage").iter_rows():
        acts = trace.split(SEP)
        for a in acts:
            seen.setdefault((a, ""), coverage)
        for a, b in itertools.pairwise(acts):
            seen.setdefault((a, b), coverage)
    return seen
