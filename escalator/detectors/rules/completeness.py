"""Completeness: required attributes missing when a case passes its gate event.

An attribute counts as present when the gate event or any earlier event of the case
carries a non-empty value for it (attributes are often captured at intake and not
repeated). One firing per case, at its first gate event with something missing;
onset = that event's time; the detail names the missing attributes.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from escalator.detectors.events import CASE, EVENT, LINE, TS
from escalator.detectors.firing import empty_firings
from escalator.detectors.rules.common import CID, finish, seen_in_case
from escalator.policies.rules import CompletenessRule

__all__ = ["completeness_firings", "present"]


def present(attr: str) -> pl.Expr:
    """Some non-blank character: null, empty and whitespace-only values are missing."""
    return pl.col(attr).cast(pl.String).str.contains(r"\S").fill_null(False)


def completeness_firings(
    events: pl.DataFrame, rule: CompletenessRule, *, as_of: datetime
) -> pl.DataFrame:
    """``events`` sorted by case, time, line and cut at ``as_of``."""
    del as_of  # the gate event is the onset; events are already cut
    flags = []
    for i, attr in enumerate(rule.required_attributes):
        if attr in events.columns:
            already = events.schema[attr] == pl.Boolean  # evaluate() passes presence flags
            has = pl.col(attr) if already else present(attr)
            flags.append(seen_in_case(has).cast(pl.Int8).alias(f"__has{i}"))
        else:  # the log never carries it: missing everywhere
            flags.append(pl.lit(0, pl.Int8).alias(f"__has{i}"))
    any_missing = pl.any_horizontal(
        *(pl.col(f"__has{i}") == 0 for i in range(len(rule.required_attributes)))
    )
    frame = (
        events.lazy()
        .select(CID, CASE, EVENT, TS, LINE, *flags)
        .filter((pl.col(EVENT) == rule.gate_event) & any_missing)
        .collect()
    )
    if frame.height == 0:
        return empty_firings()
    frame = frame.group_by(CID, maintain_order=True).first()  # the first gate pass per case
    missing = pl.concat_list(
        [
            pl.when(pl.col(f"__has{i}") == 0).then(pl.lit(attr)).otherwise(None)
            for i, attr in enumerate(rule.required_attributes)
        ]
    ).list.drop_nulls()
    first = frame.with_columns(missing.alias("__missing"))
    return finish(
        first.with_columns(
            pl.col(CASE).alias("subject"),
            pl.col(TS).alias("onset"),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("cleared_at"),
            pl.concat_list(pl.col(LINE)).alias("evidence"),
            pl.struct(
                pl.col("__missing").alias("missing"),
                pl.lit(rule.gate_event).alias("gate_event"),
            )
            .struct.json_encode()
            .alias("detail"),
        )
    )
