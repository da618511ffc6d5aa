"""The case-ordered frame every mining table starts from, and the case outcome it is judged by.

Events are ordered by case (in order of first appearance), time and source line (a stable
order for ties, so two runs give the same variants; `case_order`). Each row carries the
next event of its case, which is all the directly-follows graph and the waiting times
need, computed once with a shift instead of a window function per case. Each case gets
its variant: cases are grouped by their sequence of activity codes (a list of small
integers), so no case's activities are ever joined into text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from escalator.analytics.mining.case_order import ACT_NO, CASE_NO, case_order
from escalator.detectors.events import CASE, EVENT, TS
from escalator.detectors.scorecard import case_outcomes
from escalator.policies.journeys import AvailabilitySLI, Journey
from escalator.policies.policy_set import PolicySet
from escalator.policies.rules import Outcome

__all__ = ["CODE_COLUMNS", "SEP", "CaseLog", "activity_lists", "bad_outcome", "case_log"]

NEXT_EVENT, NEXT_TS, WAIT_S = "next_event", "next_ts", "wait_s"
CODE_COLUMNS = (CASE_NO, ACT_NO)  # integer codes, not attributes of the log
SEP = "\x1f"  # joins a variant's activities: the unit separator cannot clash with a name


@dataclass
class CaseLog:
    events: pl.DataFrame  # ordered; next_event / next_ts / wait_s (null on a case's last event)
    cases: pl.DataFrame  # case_id, first, last, duration_s, variant, bad (null = unknown)
    # variant (0 = most frequent; ties by the activities), acts (ACT_NO codes), count:
    # one row per variant, in variant order
    paths: pl.DataFrame
    activities: pl.Series  # sorted names; ACT_NO indexes it
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


def _with_next(ev: pl.DataFrame) -> pl.DataFrame:
    same_case = pl.col(CASE_NO).shift(-1) == pl.col(CASE_NO)
    return ev.with_columns(
        pl.when(same_case).then(pl.col(EVENT).shift(-1)).alias(NEXT_EVENT),
        pl.when(same_case).then(pl.col(TS).shift(-1)).alias(NEXT_TS),
    ).with_columns(((pl.col(NEXT_TS) - pl.col(TS)).dt.total_microseconds() / 1e6).alias(WAIT_S))


def activity_lists(acts: pl.Series, activities: pl.Series) -> list[list[str]]:
    """Each variant's activities by name, from its ACT_NO codes."""
    names = activities.to_list()
    return [[names[c] for c in codes] for codes in acts.to_list()]


def _traces(acts: pl.Series, activities: pl.Series) -> pl.Series:
    return pl.Series("trace", [SEP.join(a) for a in activity_lists(acts, activities)])


def _paths(cases: pl.DataFrame, activities: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
    """The variants in order (count, then trace), and each case's variant number.

    Codes number the names in sorted order, so ordering code lists orders the traces as
    their text (names joined by SEP) would order: a shorter name that begins a longer
    one sorts first either way, because SEP sorts before every character but the control
    characters. A name holding one of those could break that; then the text decides.
    """
    groups = cases.group_by("acts").agg(pl.len().alias("count"), pl.col(CASE_NO).alias("members"))
    if activities.str.contains(r"[\x00-\x1f]").any():
        texts = _traces(groups["acts"], activities)
        groups = groups.with_columns(texts).sort(["count", "trace"], descending=[True, False])
    else:
        groups = groups.sort(["count", "acts"], descending=[True, False])
    groups = groups.with_row_index("variant")
    of_case = (
        groups.select("variant", "members")
        .explode("members")
        .sort("members")
        .get_column("variant")
        .cast(pl.UInt32)
    )
    return groups.select(pl.col("variant").cast(pl.UInt32), "acts", "count"), of_case


def case_log(
    events: pl.DataFrame, outcome: Outcome | None, completing_events: list[str] | None = None
) -> CaseLog:
    """``completing_events`` (the journey's): judged as the scorecard judges, so a case
    still open at the log's end has an unknown outcome when the outcome is a bad event."""
    order = case_order(events)
    ev = _with_next(order.events)
    cases = ev.group_by(CASE_NO, maintain_order=True).agg(
        pl.col(CASE).first(),
        pl.col(TS).first().alias("first"),
        pl.col(TS).last().alias("last"),
        pl.col(ACT_NO).alias("acts"),
    )
    paths, of_case = _paths(cases, order.activities)
    cases = cases.select(
        CASE,
        "first",
        "last",
        ((pl.col("last") - pl.col("first")).dt.total_microseconds() / 1e6).alias("duration_s"),
        of_case.alias("variant"),
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
    return CaseLog(ev, cases, paths, order.activities, outcome, log_end)
