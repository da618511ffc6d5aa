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

from escalator.analytics.mining.frame import WAIT_S, CaseLog, activity_lists, seconds

__all__ = ["directly_follows", "edge_coverage", "variants"]


def _f(v: object) -> float | None:
    return None if v is None else float(v)  # type: ignore[arg-type]


def _quantiles(
    group: np.ndarray, micros: np.ndarray, qs: tuple[float, ...]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The groups (ascending) and, for each, the quantiles ``qs`` of its values
    (``micros`` as `seconds`, never negative), interpolated as polars does: at index
    (n - 1) * q, fraction * (upper - lower) + lower between the values about it. The
    values are sorted once, each with its group in the high bits of one integer."""
    shift = int(micros.max()).bit_length() if micros.size else 0
    if micros.size and shift + int(group.max()).bit_length() <= 63:
        key = np.sort((group.astype(np.int64) << shift) | micros)
        ordered, values = key >> shift, seconds(key & ((1 << shift) - 1))
    else:
        by = np.lexsort((micros, group))
        ordered, values = group[by], seconds(micros[by])
    begin = np.flatnonzero(np.diff(ordered, prepend=-1))
    n = np.diff(np.append(begin, ordered.size))
    out = []
    for q in qs:
        at = (n - 1) * q
        lower = np.floor(at)
        low = values[begin + lower.astype(np.int64)]
        high = values[begin + np.ceil(at).astype(np.int64)]
        out.append((at - lower) * (high - low) + low)
    return ordered[begin], out


def variants(log: CaseLog, top: int | None = None) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Per variant: count, share, cumulative coverage, duration median/p90, bad-outcome rate.

    Ordered by count (most frequent first), ties by the activity sequence, so the
    coverage column is well defined. The table has every variant, its activities as
    ACT_NO codes (``acts``); the rows (for JSON) the ``top`` first by name, or all.
    """
    total = log.cases.height
    m = log.paths.height
    variant = log.cases["variant"].to_numpy()
    first = log.cases["first"].to_physical().to_numpy()
    last = log.cases["last"].to_physical().to_numpy()
    _, (median, p90) = _quantiles(variant, last - first, (0.5, 0.9))
    bad = log.cases["bad"]
    known = bad.is_not_null().to_numpy()
    count = pl.get_index_type()
    table = (
        log.paths.select("acts", "count")
        .with_columns(
            pl.Series("median_duration_s", median),
            pl.Series("p90_duration_s", p90),
            pl.Series(
                "bad", np.bincount(variant[bad.fill_null(False).to_numpy()], minlength=m)
            ).cast(count),
            pl.Series("known", np.bincount(variant[known], minlength=m)).cast(count),
        )
        .with_columns(
            (pl.col("count") / total).alias("share"),
            (pl.col("count").cum_sum() / total).alias("coverage"),
            pl.int_range(pl.len()).alias("rank"),
        )
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


BITMAP_LIMIT = 1 << 27  # cases x activities; above it, counting by hash costs less memory


def _cases_with(case: np.ndarray, act: np.ndarray, k: int) -> np.ndarray:
    """Per activity code, the cases with at least one of it (one byte per case and
    activity, marked by every event; a hash group-by above BITMAP_LIMIT of them)."""
    cases = int(case[-1]) + 1 if case.size else 0  # numbered 0, 1, … in frame order
    if cases * k > BITMAP_LIMIT:
        pairs = pl.DataFrame({"case": case, "act": act}).unique()
        return np.bincount(pairs["act"].to_numpy(), minlength=k)
    seen = np.zeros(cases * k, dtype=np.uint8)
    seen[case.astype(np.int64) * k + act] = 1
    return seen.reshape(cases, k).sum(axis=0, dtype=np.int64)


def _counted(n: np.ndarray, names: pl.Series) -> dict[str, int]:
    """{activity: n of its code}, by name, where n > 0."""
    seen = np.flatnonzero(n)  # codes number the names in sorted order
    return dict(zip(names.gather(seen).to_list(), n[seen].tolist(), strict=True))


def directly_follows(log: CaseLog) -> dict[str, Any]:
    """Activities, start/end counts and the edges a→b (b directly after a in a case).

    Counted on integer codes in case order: an edge is one number, source * activities
    + target. Counts, waits' medians, p90s and totals by one polars group-by in case
    order (its compensated sum is what every total and mean has always been); activity
    and start/end counts from those and the cases' first and last events.
    """
    order, names = log.order, log.activities
    k = max(names.len(), 1)
    case, act, micros = order.case, order.act, order.step
    # Every pair of neighbours; a pair across two cases goes to edge k * k, after all
    # the real ones, with no wait (cheaper than picking out the steps within a case).
    edge = act[:-1].astype(np.int64) * k + act[1:]
    edge[order.starts[1:] - 1] = k * k
    edges = (
        pl.DataFrame({"edge": edge, WAIT_S: seconds(micros)})
        .group_by("edge")
        .agg(
            pl.len().alias("count"),
            pl.col(WAIT_S).median().alias("median"),
            pl.col(WAIT_S).quantile(0.9, "linear").alias("p90"),
            pl.col(WAIT_S).sum().alias("total"),
        )
        .filter(pl.col("edge") < k * k)
    )
    found, count, median, p90, total = (edges[c].to_numpy() for c in edges.columns)
    mean = total / count
    shown = np.lexsort((found, -count.astype(np.int64)))  # source, target: name order
    source, target = (names.gather(found[shown] // k), names.gather(found[shown] % k))
    ends = np.append(order.starts[1:], act.size) - 1
    end = np.bincount(act[ends], minlength=k)
    # an activity's events: the steps out of it and the cases it ends
    occurrences = end + np.bincount(found // k, weights=count, minlength=k).astype(np.int64)
    cases = _cases_with(case, act, k)
    nodes = np.lexsort((np.arange(k), -occurrences))[: names.len()]
    return {
        "activities": [
            {"activity": a, "count": c, "cases": n}
            for a, c, n in zip(
                names.gather(nodes).to_list(),
                occurrences[nodes].tolist(),
                cases[nodes].tolist(),
                strict=True,
            )
        ],
        "start": _counted(np.bincount(act[order.starts], minlength=k), names),
        "end": _counted(end, names),
        "edges": [
            {
                "source": s,
                "target": t,
                "count": c,
                "median_wait_s": med,
                "p90_wait_s": p,
                "mean_wait_s": avg,
                "total_wait_s": tot,
            }
            for s, t, c, med, p, avg, tot in zip(
                source.to_list(),
                target.to_list(),
                count[shown].tolist(),
                median[shown].tolist(),
                p90[shown].tolist(),
                mean[shown].tolist(),
                total[shown].tolist(),
                strict=True,
            )
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
