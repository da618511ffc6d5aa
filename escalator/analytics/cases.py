"""One pass over a journey's event log: per case, the first time of every event that
any SLI or the lead time asks about.

A single ``group_by`` over plain ``min`` aggregations (polars' fast path) serves
every SLI of the journey and its lead time; the rare case whose end event came
before its start is re-checked exactly afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from escalator.policies.journeys import SLI, AvailabilitySLI

__all__ = ["case_table", "col"]

TS = pl.Datetime("us", "UTC")


def col(i: int, name: str) -> str:
    """Column ``name`` of the ``i``-th SLI in the case table."""
    return f"sli{i}_{name}"


def _first(names: Sequence[str]) -> pl.Expr:
    if not names:
        return pl.lit(None, TS)
    return pl.when(pl.col("event_name").is_in(list(names))).then(pl.col("timestamp"))


def case_table(
    log: pl.DataFrame, slis: Sequence[SLI], completing: Sequence[str], as_of: datetime
) -> pl.DataFrame:
    """``case_id, first_at, completed_at`` and, per SLI i, ``sli{i}_valid/good/bad`` (availability)
    or ``sli{i}_start/end/attr`` (latency): first times seen at or before ``as_of``."""
    seen = log.lazy().filter(pl.col("timestamp") <= as_of)
    conditional: list[pl.Expr] = [_first(completing).alias("completed_at")]
    for i, sli in enumerate(slis):
        if isinstance(sli, AvailabilitySLI):
            conditional += [
                _first(sli.valid_events).alias(col(i, "valid")),
                _first(sli.good_events).alias(col(i, "good")),
                _first(sli.bad_events).alias(col(i, "bad")),
            ]
        else:
            conditional += [
                _first([sli.start_event]).alias(col(i, "start")),
                _first([sli.end_event]).alias(col(i, "end")),
            ]
    names = [e.meta.output_name() for e in conditional]
    table = (
        seen.with_columns(conditional)
        .group_by("case_id")
        .agg(pl.col("timestamp").min().alias("first_at"), *[pl.col(n).min() for n in names])
        .collect()
    )
    for i, sli in enumerate(slis):
        if not isinstance(sli, AvailabilitySLI):
            table = _end_after_start(seen, table, i, sli.start_event, sli.end_event)
            if sli.threshold_attribute:
                table = _start_attribute(seen, table, i, sli.start_event, sli.threshold_attribute)
    return table


def _end_after_start(
    seen: pl.LazyFrame, table: pl.DataFrame, i: int, start_event: str, end_event: str
) -> pl.DataFrame:
    """The first end event *at or after* the first start, for the few cases where an
    end event also came before it."""
    start, end = col(i, "start"), col(i, "end")
    odd = table.filter(pl.col(end) < pl.col(start)).select("case_id", start)
    if odd.is_empty():
        return table
    fixed = (
        seen.filter(pl.col("event_name") == end_event)
        .join(odd.lazy(), on="case_id")
        .filter(pl.col("timestamp") >= pl.col(start))
        .group_by("case_id")
        .agg(pl.col("timestamp").min().alias("fixed_end"))
        .collect()
    )
    return (
        table.join(odd.select("case_id", pl.lit(True).alias("odd")), on="case_id", how="left")
        .join(fixed, on="case_id", how="left")
        .with_columns(
            pl.when(pl.col("odd")).then(pl.col("fixed_end")).otherwise(pl.col(end)).alias(end)
        )
        .drop("odd", "fixed_end")
    )


def _start_attribute(
    seen: pl.LazyFrame, table: pl.DataFrame, i: int, start_event: str, attribute: str
) -> pl.DataFrame:
    """The attribute's value on each case's first start event (e.g. its severity)."""
    if attribute not in seen.collect_schema().names():
        return table.with_columns(pl.lit(None, pl.String).alias(col(i, "attr")))
    values = (
        seen.filter(pl.col("event_name") == start_event)
        .select("case_id", "timestamp", pl.col(attribute).cast(pl.String).alias(col(i, "attr")))
        .sort("timestamp")
        .unique("case_id", keep="first")
        .drop("timestamp")
        .collect()
    )
    return table.join(values, on="case_id", how="left")
