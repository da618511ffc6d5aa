"""Variants and the directly-follows graph with frequency and waiting times.

Quantiles are linear interpolations between order statistics (numpy's default; the
median is the midpoint of the two middle values), which is what the tests' plain-Python
oracle computes.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import polars as pl

from escalator.analytics.mining.case_order import ACT_NO, CASE_NO
from escalator.analytics.mining.frame import WAIT_S, CaseLog, activity_lists

__all__ = ["directly_follows", "edge_coverage", "variants"]


def _f(v: object) -> float | None:
    return None if v is None else float(v)  # type: ignore[arg-type]


def variants(log: CaseLog, top: int | None = None) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Per variant: count, share, cumulative coverage, duration median/p90, bad-outcome rate.

    Ordered by count (most frequent first), ties by the activity sequence, so the
    coverage column is well defined. The table has every variant, its activities as
    ACT_NO codes (``acts``); the rows (for JSON) the ``top`` first by name, or all.
    """
    total = log.cases.height
    stats = (
        log.cases.group_by("variant")
        .agg(
            pl.col("duration_s").median().alias("median_duration_s"),
            pl.col("duration_s").quantile(0.9, "linear").alias("p90_duration_s"),
            pl.col("bad").sum().alias("bad"),
            pl.col("bad").count().alias("known"),
        )
        .sort("variant")
    )
    table = pl.concat(
        [log.paths.select("acts", "count"), stats.drop("variant")], how="horizontal"
    ).with_columns(
        (pl.col("count") / total).alias("share"),
        (pl.col("count").cum_sum() / total).alias("coverage"),
        pl.int_range(pl.len()).alias("rank"),
    )
    shown = table.head(table.height if top is None else top)
    rows = []
    for r, acts in zip(
        shown.iter_rows(named=True), activity_lists(shown["acts"], log.activities), strict=True
    ):
        known = r["known"]
        rows.append(
            {
                "rank": r["rank"] + 1,
                "activities": acts,
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


def _counted(codes: pl.DataFrame, names: pl.Series) -> dict[str, int]:
    """{activity: count} from (code, count) rows, by name."""
    return dict(
        sorted(zip(names.gather(codes["code"]).to_list(), codes["n"].to_list(), strict=True))
    )


_COUNTS = {"count": pl.UInt32, "cases": pl.UInt32}
BITMAP_LIMIT = 1 << 27  # cases x activities; above it, counting by hash costs less memory


def _activity_counts(case: np.ndarray, act: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per activity code: its events, and the cases with at least one (one bit per case
    and activity, marked by every event; a hash group-by above BITMAP_LIMIT bits)."""
    occurrences = np.bincount(act, minlength=k)
    cases = int(case[-1]) + 1 if case.size else 0  # numbered 0, 1, … in frame order
    if cases * k > BITMAP_LIMIT:
        pairs = pl.DataFrame({"case": case, "act": act}).unique()
        return occurrences, np.bincount(pairs["act"].to_numpy(), minlength=k)
    seen = np.zeros(cases * k, dtype=bool)
    seen[case.astype(np.int64) * k + act] = True
    return occurrences, np.bincount(np.flatnonzero(seen) % k, minlength=k)


def _steps(case: np.ndarray, act: np.ndarray, wait: np.ndarray, k: int) -> pl.DataFrame:
    """Every step a→b within a case as (edge, wait_s), edge = a * k + b, in frame order
    (so each edge's waits are summed in the order they always were)."""
    same = case[1:] == case[:-1]
    edge = act[:-1][same].astype(np.uint32) * k + act[1:][same]
    return pl.DataFrame({"edge": edge, WAIT_S: wait[:-1][same]})


def directly_follows(log: CaseLog) -> dict[str, Any]:
    """Activities, start/end counts and the edges a→b (b directly after a in a case).

    Counted on integer codes: an edge is one number, source * activities + target.
    Start and end counts come from the variants (a few thousand rows, not every event).
    """
    ev, names, paths = log.events, log.activities, log.paths
    k = max(names.len(), 1)
    case, act = ev[CASE_NO].to_numpy(), ev[ACT_NO].to_numpy()
    occurrences, cases = _activity_counts(case, act, k)
    nodes = pl.DataFrame(
        {"activity": names, "count": occurrences, "cases": cases}, schema_overrides=_COUNTS
    ).sort(["count", "activity"], descending=[True, False])
    ends = {
        side: paths.group_by(pl.col("acts").list.get(i).alias("code")).agg(
            pl.col("count").sum().alias("n")
        )
        for side, i in (("start", 0), ("end", -1))
    }
    edges = (
        _steps(case, act, ev[WAIT_S].to_numpy(), k)
        .group_by("edge")
        .agg(
            pl.len().alias("count"),
            pl.col(WAIT_S).median().alias("median_wait_s"),
            pl.col(WAIT_S).quantile(0.9, "linear").alias("p90_wait_s"),
            pl.col(WAIT_S).mean().alias("mean_wait_s"),
            pl.col(WAIT_S).sum().alias("total_wait_s"),
        )
        .select(
            pl.lit(names).gather(pl.col("edge") // k).alias("source"),
            pl.lit(names).gather(pl.col("edge") % k).alias("target"),
            pl.exclude("edge"),
        )
        .sort(["count", "source", "target"], descending=[True, False, False])
    )
    return {
        "activities": [{"activity": a, "count": c, "cases": n} for a, c, n in nodes.iter_rows()],
        "start": _counted(ends["start"], names),
        "end": _counted(ends["end"], names),
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


def edge_coverage(
    variant_table: pl.DataFrame, activities: pl.Series
) -> dict[tuple[str, str], float]:
    """For each edge and activity, the variant coverage at which it first appears: the
    HTML's coverage filter shows only what the most frequent variants up to a share use."""
    seen: dict[tuple[str, str], float] = {}
    traces = activity_lists(variant_table["acts"], activities)
    for acts, coverage in zip(traces, variant_table["coverage"].to_list(), strict=True):
        for a in acts:
            seen.setdefault((a, ""), coverage)
        for a, b in itertools.pairwise(acts):
            seen.setdefault((a, b), coverage)
    return seen
