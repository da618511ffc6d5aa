"""Conformance: a case deviates from the reference model; the firing names the deviation.

Checks, each giving (case, onset, evidence lines, deviation text):

* start: the case's first modelled event (first event, without a transition model)
  is not one of ``start_events``;
* transitions: consecutive *modelled* events a → b (the events named anywhere in
  ``start_events`` / ``allowed_transitions``; others are projected away, so a model of
  the application states ignores work-item events) where b is not allowed after a; an
  event with no entry in ``allowed_transitions`` allows no successor;
* precedence: ``event`` happens before any ``requires`` in the case;
* response: ``event`` is not followed by ``then`` within ``within`` (onset = event +
  within); without ``within``, by the time the case completes (a journey completing
  event; onset = that event).

One firing per case: its earliest deviation (that is what made the case deviate).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from escalator.detectors.events import CASE, EVENT, LINE, TS
from escalator.detectors.firing import empty_firings
from escalator.detectors.rules.common import CID, finish, next_in_case, seen_in_case
from escalator.policies.duration import format_duration
from escalator.policies.rules import ConformanceRule

__all__ = ["conformance_firings"]

_DEV_SCHEMA = {
    CID: pl.UInt32(),
    CASE: pl.String(),
    "onset": pl.Datetime("us", "UTC"),
    "evidence": pl.List(pl.Int64()),
    "deviation": pl.String(),
    "check": pl.String(),
}


def _transitions(events: pl.DataFrame, rule: ConformanceRule) -> list[pl.DataFrame]:
    out: list[pl.DataFrame] = []
    alphabet = set(rule.start_events) | set(rule.allowed_transitions)
    for nexts in rule.allowed_transitions.values():
        alphabet.update(nexts)
    if not alphabet:
        return out
    # Event names as small integers: the pair check is then arithmetic and a set lookup
    # instead of a string join over every event.
    names = sorted(alphabet)
    if isinstance(events.schema[EVENT], pl.Categorical):  # as by_case leaves it: map codes
        physical = pl.Series(names, dtype=pl.Categorical).to_physical().to_list()
        code = (
            pl.col(EVENT)
            .to_physical()
            .replace_strict(
                {p: i for i, p in enumerate(physical)}, default=None, return_dtype=pl.Int32
            )
        )
    else:
        code = pl.col(EVENT).replace_strict(
            {n: i for i, n in enumerate(names)}, default=None, return_dtype=pl.Int32
        )
    # Without a transition model there is nothing to project onto: the start check
    # then looks at the case's very first event.
    projected = (
        events.with_columns(code.alias("__code")).filter(pl.col("__code").is_not_null())
        if rule.allowed_transitions
        else events
    )
    modelled = projected.with_columns(
        (pl.col(CID) == pl.col(CID).shift(1)).fill_null(False).alias("__same"),
    )
    if rule.start_events:
        bad_start = modelled.filter(~pl.col("__same") & ~pl.col(EVENT).is_in(rule.start_events))
        expected = ", ".join(rule.start_events)
        out.append(
            bad_start.select(
                CID,
                CASE,
                pl.col(TS).alias("onset"),
                pl.concat_list(LINE).alias("evidence"),
                (
                    pl.lit("starts with ")
                    + pl.col(EVENT).cast(pl.String)
                    + pl.lit(f" (expected {expected})")
                ).alias("deviation"),
                pl.lit("start").alias("check"),
            )
        )
    if rule.allowed_transitions:
        k = len(names)
        allowed = [
            names.index(a) * k + names.index(b)
            for a, bs in rule.allowed_transitions.items()
            for b in bs
        ]
        pair = pl.col("__code").shift(1) * k + pl.col("__code")
        pairs = modelled.with_columns(
            pl.col(EVENT).shift(1).alias("__prev"),
            pl.col(LINE).shift(1).alias("__prev_line"),
            pair.is_in(allowed).alias("__ok"),
        ).filter(pl.col("__same") & ~pl.col("__ok"))
        out.append(
            pairs.select(
                CID,
                CASE,
                pl.col(TS).alias("onset"),
                pl.concat_list("__prev_line", LINE).alias("evidence"),
                (
                    pl.lit("transition ")
                    + pl.col("__prev").cast(pl.String)
                    + pl.lit(" → ")
                    + pl.col(EVENT).cast(pl.String)
                    + pl.lit(" is not in the reference model")
                ).alias("deviation"),
                pl.lit("transition").alias("check"),
            )
        )
    return out


def _precedence(events: pl.DataFrame, rule: ConformanceRule) -> list[pl.DataFrame]:
    out = []
    for p in rule.precedence:
        seen = seen_in_case(pl.col(EVENT) == p.requires, strictly_before=True)
        bad = events.filter((pl.col(EVENT) == p.event) & ~seen)
        out.append(
            bad.select(
                CID,
                CASE,
                pl.col(TS).alias("onset"),
                pl.concat_list(LINE).alias("evidence"),
                pl.lit(f"{p.event} happened before {p.requires}").alias("deviation"),
                pl.lit("precedence").alias("check"),
            )
        )
    return out


def _next_time(names: list[str]) -> pl.Expr:
    """For each row, the time of the next later row of the case whose event is in ``names``."""
    return next_in_case(pl.col(EVENT).is_in(names), pl.col(TS))


def _response(
    events: pl.DataFrame, rule: ConformanceRule, completing: list[str], as_of: datetime
) -> list[pl.DataFrame]:
    out = []
    for r in rule.response:
        frame = events.with_columns(_next_time([r.then]).alias("__then"))
        if r.within is not None:
            due = pl.col(TS) + r.within
            late = pl.col("__then").is_null() | (pl.col("__then") > due)
            bad = frame.filter((pl.col(EVENT) == r.event) & late & (due <= as_of)).with_columns(
                due.alias("onset")
            )
            text = f"{r.event} not followed by {r.then} within {format_duration(r.within)}"
        else:
            if not completing:
                continue  # "eventually" is only decidable once the case completes
            frame = frame.with_columns(_next_time(completing).alias("__done"))
            late = pl.col("__then").is_null() | (pl.col("__then") > pl.col("__done"))
            bad = frame.filter(
                (pl.col(EVENT) == r.event) & pl.col("__done").is_not_null() & late
            ).with_columns(pl.col("__done").alias("onset"))
            text = f"{r.event} not followed by {r.then} before the case completed"
        out.append(
            bad.select(
                CID,
                CASE,
                "onset",
                pl.concat_list(LINE).alias("evidence"),
                pl.lit(text).alias("deviation"),
                pl.lit("response").alias("check"),
            )
        )
    return out


def conformance_firings(
    events: pl.DataFrame,
    rule: ConformanceRule,
    *,
    as_of: datetime,
    completing_events: list[str] | None = None,
) -> pl.DataFrame:
    """``events`` sorted by case, time, line and cut at ``as_of``."""
    parts = [
        *_transitions(events, rule),
        *_precedence(events, rule),
        *_response(events, rule, completing_events or [], as_of),
    ]
    parts = [p.cast(_DEV_SCHEMA) for p in parts if p.height]  # type: ignore[arg-type]
    if not parts:
        return empty_firings()
    deviations = pl.concat(parts).sort(CID, "onset", pl.col("evidence").list.first())
    first = deviations.group_by(CID, maintain_order=True).agg(
        pl.all().first(), pl.len().alias("__n")
    )
    return finish(
        first.with_columns(
            pl.col(CASE).alias("subject"),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("cleared_at"),
            pl.struct(
                pl.col("deviation"), pl.col("check"), pl.col("__n").alias("deviations_so_far")
            )
            .struct.json_encode()
            .alias("detail"),
        )
    )
