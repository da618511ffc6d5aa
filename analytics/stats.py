"""Percentile summaries of durations, overall and by a dimension.

Percentiles use linear interpolation between closest ranks (numpy's default),
so a hand computation over a handful of values can check them.
"""

from __future__ import annotations

from typing import Any

import polars as pl

__all__ = ["QUANTILES", "summarize", "summarize_by"]

QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


def _aggs(col: str) -> list[pl.Expr]:
    exprs = [pl.col(col).count().alias("count")]
    exprs += [
        pl.col(col).quantile(q, interpolation="linear").alias(name) for name, q in QUANTILES.items()
    ]
    return exprs


def summarize(frame: pl.DataFrame, col: str) -> dict[str, Any]:
    """``{count, p50, p90, p99}`` of the non-null seconds in ``col`` (None when empty)."""
    row = frame.select(_aggs(col)).row(0, named=True)
    return _clean(row)


def summarize_by(frame: pl.DataFrame, col: str, by: str) -> list[dict[str, Any]]:
    """One summary per value of ``by`` (rows with a null duration count nowhere)."""
    present = frame.filter(pl.col(col).is_not_null())
    out = present.group_by(by).agg(_aggs(col)).sort(by, nulls_last=True)
    return [_clean(row) for row in out.iter_rows(named=True)]


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    row["count"] = int(row["count"] or 0)
    for name in QUANTILES:
        value = row[name]
        row[name] = None if value is None or row["count"] == 0 else round(float(value), 3)
    return row
