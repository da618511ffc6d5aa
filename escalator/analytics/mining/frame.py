"""The case-ordered frame every mining table starts from, and the case outcome it is judged by.

Events are ordered by case (in order of first appearance), time and source line (a stable order for ties, so two runs
give the same variants). Each row carries the next event of its case, which is all the
directly-follows graph and the waiting times need, computed once with a shift instead
of a window function per case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from escalator.detectors.events import CASE, EVENT, LINE, TS
from escalator.detectors.scorecard import case_outcomes
from escalator.policies.journeys import AvailabilitySLI, Journey
from escalator.policies.policy_set import PolicySet
from escalator.policies.rules import Outcome

__all__ = ["CaseLog", "bad_outcome", "case_log"]

NEXT_EVENT, NEXT_TS, WAIT_S = "next_event", "next_ts", "wait_s"
_KEY = "__case_key"


@dataclass
class CaseLog:
    events: pl.DataFrame  # ordered; next_event / next_ts / wait_s (null on a case's last event)
    cases: pl.DataFrame  # case_id, first, last, duration_s, trace, bad (null = unknown)
    outcome: Outcome | None
    log_end: datetime | None


def bad_outcome(policies: PolicySet, journey: Journey, rule: str | None = None) -> Outcome | None:
    """The outcome the journey's rules predict (the named rule's, else the first rule's);
    without rules, an availability SLI's bad events; else none (bad-outcome rates are null)."""
    if rule is not None:
        return policies.rule(rule).predicts
    for r in policies.rules:
        if r.journey == journey.name:
            return r.predicts
    for sli in journey.slis:
        if isinstance(sli, AvailabilitySLI) and sli.bad_events:
            return Outcome(description=f"{sli.name}: a bad event", events=sli.bad_events)
    return None


def case_log(
    events: pl.DataFrame, outcome: Outcome | None, completing_events: list[str] | None = None
) -> CaseLog:
    """``completing_events`` (the journey's): judged as the scorecard judges, so a case
    still open at the log's end has an unknown outcome when the outcome is a bad event."""
    order = [_KEY, TS, LINE] if LINE in events.columns else [_KEY, TS]
    ev = events.select(CASE, EVENT, TS, *[c for c in events.columns if c not in (CASE, EVENT, TS)])
    # Sorting by an integer code of the case id (first appearance) instead of the text:
    # 3-5x faster on millions of events, and each case's events still end up together.
    ev = (
        ev.with_columns(pl.col(CASE).cast(pl.Categorical).to_physical().alias(_KEY))
        .sort(order, maintain_order=True)
        .drop(_KEY)
    )
    same_case = pl.col(CASE).shift(-1) == pl.col(CASE)
    ev = ev.with_columns(
        pl.when(same_case).then(pl.col(EVENT).shift(-1)).alias(NEXT_EVENT),
        pl.when(same_case).then(pl.col(TS).shift(-1)).alias(NEXT_TS),
    ).with_columns(((pl.col(NEXT_TS) - pl.col(TS)).dt.total_microseconds() / 1e6).alias(WAIT_S))
    cases = ev.group_by(CASE, maintain_order=True).agg(
        pl.col(TS).first().alias("first"),
        pl.col(TS).last().alias("last"),
        # \x1f (unit separator) cannot clash with a readable activity name.
        pl.col(EVENT).str.join("\x1f").alias("trace"),
    )
    cases = cases.with_columns(
        ((pl.col("last") - pl.col("first")).dt.total_microseconds() / 1e6).alias("duration_s")
    )
    last = ev[TS].max() if ev.height else None
    log_end = last if isinstance(last, datetime) else None
    if outcome is not None and log_end is not None:
        judged = case_outcomes(events, outcome, log_end, completing_events)
        judged = judged.select(
            CASE,
            "breach",
            pl.when(pl.col("censored"))
            .then(None)
            .otherwise(pl.col("breach").is_not_null())
            .alias("bad"),
        )
        cases = cases.join(judged, on=CASE, how="left", maintain_order="left")
    else:
        cases = cases.with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("breach"),
            pl.lit(None, pl.Boolean).alias("bad"),
        )
    return CaseLog(ev, cases, outcome, log_end)
