"""Helpers shared by the rule kinds: sorting, subjects, detail JSON, evidence slices."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from detectors.events import CASE, LINE, TS
from detectors.firing import FIRING_SCHEMA, MAX_EVIDENCE

__all__ = ["by_case", "detail", "evidence_slices", "finish", "us", "window_subject"]


def us(td: timedelta) -> int:
    return int(td / timedelta(microseconds=1))


def by_case(events: pl.DataFrame) -> pl.DataFrame:
    """Events in case order, then time, then source line (ties keep file order)."""
    return events.sort([CASE, TS, LINE])


def detail(**fields: pl.Expr) -> pl.Expr:
    """A JSON object column built from expressions (timestamps as ISO strings)."""
    cols = []
    for name, expr in fields.items():
        cols.append(expr.alias(name))
    return pl.struct(cols).struct.json_encode()


def window_subject(onset: pl.Expr) -> pl.Expr:
    """Aggregate rules' subject: the episode's first moment, stable across polls."""
    return pl.lit("window@") + onset.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def evidence_slices(
    frame: pl.DataFrame, lo: pl.Series, hi: pl.Series, lines: pl.Series
) -> pl.Series:
    """For each row, ``lines[lo:hi]`` (capped at MAX_EVIDENCE) as a list column."""
    hi_capped = pl.select(pl.min_horizontal(hi, lo + MAX_EVIDENCE)).to_series()
    idx = pl.DataFrame(
        {"__row": pl.int_range(0, frame.height, eager=True), "__lo": lo, "__hi": hi_capped}
    )
    exploded = idx.select(
        "__row", pl.int_ranges("__lo", pl.max_horizontal("__lo", "__hi")).alias("__i")
    ).explode("__i")
    picked = lines.gather(exploded["__i"].fill_null(0)) if lines.len() else None
    got = exploded.with_columns(
        pl.when(pl.col("__i").is_not_null()).then(picked).otherwise(None).alias("__line")
        if picked is not None
        else pl.lit(None, pl.Int64).alias("__line")
    )
    grouped = got.group_by("__row").agg(pl.col("__line").drop_nulls())
    # Rows with an empty slice vanish in the explode: join back onto every row.
    full = idx.select("__row").join(grouped, on="__row", how="left").sort("__row")
    return full["__line"].fill_null(pl.lit([], pl.List(pl.Int64))).alias("evidence")


def finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Select and type the firing columns."""
    return frame.select([pl.col(name).cast(dtype) for name, dtype in FIRING_SCHEMA.items()]).sort(
        "onset", "subject"
    )
