"""What correlates with the bad outcome: variants, activities, transitions and attributes.

Each pattern is a yes/no property of a case. Over the cases whose outcome is known
(censored cases left out): support, bad-outcome rate with a 95 % Wilson interval, lift
= rate / base rate (with the interval divided by the base rate), and how much slower
its cases are (median duration against the log's). Ranked by the lower bound of the
lift, so a large lift on three cases does not outrank a solid one on three hundred.

A pattern is offered as a *rule candidate* only when it is observable before the
outcome: not a whole variant (known only when the case ends), not the outcome's own
events, and seen before the breach in at least 90 % of its bad cases.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from escalator.analytics.mining.frame import CODE_COLUMNS, NEXT_EVENT, NEXT_TS, CaseLog
from escalator.detectors.events import CASE, CORE_COLUMNS, EVENT, TS
from escalator.detectors.intervals import wilson

__all__ = ["correlations"]

BEFORE_SHARE = 0.9
MAX_ATTRIBUTE_VALUES = 50  # columns with more distinct values are identifiers, not patterns
_SKIP = {*CORE_COLUMNS, *CODE_COLUMNS, NEXT_EVENT, NEXT_TS, "wait_s"}


def _features(log: CaseLog) -> pl.DataFrame:
    """(case, kind, pattern, seen): when the case first showed the pattern."""
    ev = log.events
    parts = [
        ev.group_by(CASE, EVENT)
        .agg(pl.col(TS).min().alias("seen"))
        .select(CASE, pl.lit("activity").alias("kind"), pl.col(EVENT).alias("pattern"), "seen"),
        ev.filter(pl.col(NEXT_EVENT).is_not_null())
        .group_by(CASE, EVENT, NEXT_EVENT)
        .agg(pl.col(NEXT_TS).min().alias("seen"))
        .select(
            CASE,
            pl.lit("transition").alias("kind"),
            pl.concat_str(EVENT, pl.lit(" -> "), NEXT_EVENT).alias("pattern"),
            "seen",
        ),
    ]
    # A case's variant number is its variant's rank in the table (0 = most frequent).
    parts.append(
        log.cases.select(
            CASE,
            pl.lit("variant").alias("kind"),
            pl.format("variant #{}", pl.col("variant") + 1).alias("pattern"),
            pl.col("last").alias("seen"),
        )
    )
    attrs = ["actor", *[c for c in ev.columns if c not in _SKIP]]
    for col in attrs:
        if col not in ev.columns or ev[col].n_unique() > MAX_ATTRIBUTE_VALUES:
            continue
        parts.append(
            ev.filter(pl.col(col).is_not_null())
            .group_by(CASE, col)
            .agg(pl.col(TS).min().alias("seen"))
            .select(
                CASE,
                pl.lit("attribute").alias("kind"),
                pl.concat_str(pl.lit(f"{col}="), pl.col(col).cast(pl.String)).alias("pattern"),
                "seen",
            )
        )
    return pl.concat(parts)


def correlations(log: CaseLog, *, min_support: int = 5, top: int = 50) -> dict[str, Any]:
    known = log.cases.filter(pl.col("bad").is_not_null())
    if log.outcome is None or known.height == 0:
        return {"outcome": None, "base_rate": None, "known_cases": 0, "patterns": []}
    base = float(known["bad"].sum()) / known.height
    overall_median = known["duration_s"].median()
    feats = _features(log).join(known.select(CASE, "bad", "breach", "duration_s"), on=CASE)
    table = (
        feats.group_by("kind", "pattern")
        .agg(
            pl.len().alias("support"),
            pl.col("bad").sum().alias("bad"),
            (pl.col("bad") & (pl.col("seen") < pl.col("breach"))).sum().alias("bad_seen_before"),
            pl.col("duration_s").median().alias("median_duration_s"),
        )
        .filter(pl.col("support") >= min_support)
    )
    outcome_events = set(log.outcome.events)
    rows = []
    for kind, pattern, support, bad, before, med in table.iter_rows():
        rate = bad / support
        lo, hi = wilson(bad, support)
        assert lo is not None and hi is not None
        observable = (
            kind != "variant"
            and not (kind == "activity" and pattern in outcome_events)
            and (bad == 0 or before / bad >= BEFORE_SHARE)
        )
        lift = rate / base if base else None
        rows.append(
            {
                "kind": kind,
                "pattern": pattern,
                "support": support,
                "support_share": support / known.height,
                "bad": bad,
                "bad_rate": rate,
                "bad_rate_ci": [lo, hi],
                "lift": lift,
                "lift_ci": [lo / base, hi / base] if base else None,
                "median_duration_s": float(med) if med is not None else None,
                "duration_ratio": (med / overall_median) if overall_median else None,
                "seen_before_outcome": (before / bad) if bad else None,
                "rule_candidate": bool(observable and base and lo > base),
            }
        )
    rows.sort(
        key=lambda r: (-(r["lift_ci"][0] if r["lift_ci"] else 0), -r["support"], r["pattern"])
    )
    return {
        "outcome": log.outcome.description,
        "base_rate": base,
        "known_cases": known.height,
        "censored_cases": log.cases.height - known.height,
        "min_support": min_support,
        "pattern_count": len(rows),
        "patterns": rows[:top],
        "rule_candidates": [r for r in rows if r["rule_candidate"]][:top],
    }
