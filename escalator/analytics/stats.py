"""Percentile summaries of durations, overall and by a dimension.

Percentiles use linear interpolation between closest ranks (numpy's default),
so a hand computation over a handful of values can check them.

At a million rows, per-group quickselects dominate a report; so the values are
sorted once, and because a group keeps its rows in frame order, every group's
values arrive sorted: a percentile is then two lookups and an interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

__all__ = ["QUANTILES", "clean_stats", "summaries", "summarize", "summarize_by"]

QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


def _sorted_stats(col: str) -> list[pl.Expr]:
    """Count and percentiles of ``col``, assuming its values are sorted and non-null."""
    values = pl.col(col)
    n = values.len()
    exprs = [n.alias("count")]
    for name, q in QUANTILES.items():
        pos = (n - 1).cast(pl.Float64) * q
        low = values.get(pos.floor().cast(pl.Int64))
        high = values.get(pos.ceil().cast(pl.Int64))
        exprs.append((low + (high - low) * (pos - pos.floor())).alias(name))
    return exprs


def summaries(
    frame: pl.DataFrame, col: str, by: Sequence[str]
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The overall summary of ``col`` and one list of group summaries per ``by`` column."""
    # Categorical keys: the sort carries integers, not strings, and grouping is cheaper
    # (pass a frame whose keys are Categorical already to pay the cast only once).
    keys = [
        pl.col(d) if frame.schema[d] == pl.Categorical else pl.col(d).cast(pl.Categorical)
        for d in by
    ]
    present = frame.lazy().select(*keys, col).filter(pl.col(col).is_not_null()).sort(col)
    height = present.select(pl.len()).collect().item()
    if height == 0:
        empty: dict[str, Any] = {"count": 0, "p50": None, "p90": None, "p99": None}
        return empty, {dim: [] for dim in by}
    queries = [present.select(_sorted_stats(col))]
    queries += [
        present.group_by(dim)
        .agg(_sorted_stats(col))
        .with_columns(pl.col(dim).cast(pl.String))
        .sort(dim, nulls_last=True)
        for dim in by
    ]
    overall, *tables = pl.collect_all(queries)
    grouped = {
        dim: [clean_stats(row) for row in table.iter_rows(named=True)]
        for dim, table in zip(by, tables, strict=True)
    }
    return clean_stats(overall.row(0, named=True)), grouped


def summarize(frame: pl.DataFrame, col: str) -> dict[str, Any]:
    """``{count, p50, p90, p99}`` of the non-null seconds in ``col`` (None when empty)."""
    return summaries(frame, col, [])[0]


def summarize_by(frame: pl.DataFrame, col: str, by: str) -> list[dict[str, Any]]:
    """One summary per value of ``by`` (rows with a null duration count nowhere)."""
    return summaries(frame, col, [by])[1][by]


def clean_stats(row: dict[str, Any]) -> dict[str, Any]:
    row["count"] = int(row["count"] or 0)
    for name in QUANTILES:
        value = row[name]
        row[name] = None if value is None or row["count"] == 0 else round(float(value), 3)
    return row
