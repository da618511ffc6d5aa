"""Scorecard: each rule is a hypothesis about an outcome; score it against the log.

Outcome per case (from ``rule.predicts``): the case is *bad* if it has one of
``events`` (breach = the first such event), or if it does not reach ``not_reached``
within ``within`` of its first event (breach = first event + within). A case whose
deadline lies after the log's end without having reached the event yet is
*censored* (unknown) and left out of precision and recall.

Case rules (latency, completeness, conformance), one verdict per fired case, judged
by its first firing:

* precision = fired cases that turned out bad / fired cases (censored excluded);
* recall = bad cases fired *before* their breach / bad cases ("late" firings, after
  the breach, are correct but predicted nothing, so they do not count for recall);
* lead time = breach - onset over the cases fired before the breach (median).

Aggregate rules (quality, volume) fire for a window, not a case. An episode is
*right* when some case breaches within one rule window after its onset
(``[onset, onset + window]``): precision = right episodes / episodes; recall = bad
cases whose breach falls in some episode's horizon / bad cases; lead time = first
breach in the horizon - onset.

Attention cost, in error-budget terms: every firing interrupts a person once, and we
price one interruption like one bad case of the journey. With the journey's SLO
objective (first availability SLI, else its first SLI) and the log's case rate,

    budget per SLO window      = (1 - objective) * cases per SLO window
    attention cost             = firings per SLO window / budget per SLO window
    false-alarm cost           = firings that predicted nothing per SLO window / budget

so an attention cost of 1.0 means the rule interrupts people as often as the journey
is allowed to fail; well above 1 is a rule a team will learn to ignore.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from escalator.detectors.evaluate import RuleFirings
from escalator.detectors.events import CASE, EVENT, TS
from escalator.policies.journeys import AvailabilitySLI, Journey
from escalator.policies.rules import Outcome, PredictedBreachRule, QualityRule, VolumeRule

__all__ = ["RuleScore", "case_outcomes", "score_rules"]

_DAY = timedelta(days=1)


@dataclass
class RuleScore:
    rule: str
    kind: str
    predicts: str
    firings: int
    firings_per_day: float
    judged: int  # firings (cases or episodes) with a known outcome
    true_positives: int
    late: int
    false_positives: int
    bad_cases: int
    precision: float | None
    recall: float | None
    median_lead_time_s: float | None
    attention_cost: float | None
    false_alarm_cost: float | None
    # predicted_breach only: how much earlier than the plain latency rule on its SLI.
    gain_over_latency: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def case_outcomes(events: pl.DataFrame, outcome: Outcome, log_end: datetime) -> pl.DataFrame:
    """Per case: ``breach`` (null when good), ``censored`` (outcome not yet known)."""
    per_case = events.group_by(CASE).agg(pl.col(TS).min().alias("first"))
    if outcome.events:
        bad = (
            events.filter(pl.col(EVENT).is_in(outcome.events))
            .group_by(CASE)
            .agg(pl.col(TS).min().alias("bad_event"))
        )
        per_case = per_case.join(bad, on=CASE, how="left")
    else:
        per_case = per_case.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("bad_event"))
    if outcome.not_reached and outcome.within is not None:
        reached = (
            events.filter(pl.col(EVENT) == outcome.not_reached)
            .group_by(CASE)
            .agg(pl.col(TS).min().alias("reached"))
        )
        per_case = per_case.join(reached, on=CASE, how="left")
        due = pl.col("first") + outcome.within
        missed = pl.col("reached").is_null() | (pl.col("reached") > due)
        per_case = per_case.with_columns(
            pl.when(missed & (due <= log_end)).then(due).alias("deadline_breach"),
            (pl.col("reached").is_null() & (due > log_end)).alias("censored"),
        )
    else:
        per_case = per_case.with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("deadline_breach"),
            pl.lit(False).alias("censored"),
        )
    per_case = per_case.with_columns(
        pl.min_horizontal("bad_event", "deadline_breach").alias("breach")
    )
    # A known bad event settles the case even when its deadline is not due yet.
    return per_case.with_columns(
        (pl.col("censored") & pl.col("breach").is_null()).alias("censored")
    ).select(CASE, "breach", "censored")


def _objective(journey: Journey) -> float:
    for sli in journey.slis:
        if isinstance(sli, AvailabilitySLI):
            return sli.objective
    return journey.slis[0].objective


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def score_rules(
    events: pl.DataFrame, journey: Journey, results: list[RuleFirings]
) -> list[RuleScore]:
    if events.height == 0:
        return []
    first, last = events[TS].min(), events[TS].max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    days = max((last - first) / _DAY, 1.0)
    cases = events[CASE].n_unique()
    window_days = journey.window / _DAY
    budget = (1 - _objective(journey) / 100) * cases / days * window_days
    scores = []
    for result in results:
        outcomes = case_outcomes(events, result.rule.predicts, last)
        if isinstance(result.rule, QualityRule | VolumeRule):
            counts = _score_windows(result.frame, outcomes, result.rule.window)
        else:
            counts = _score_cases(result.frame, outcomes)
        n = result.frame.height
        per_window = n / days * window_days
        false_alarms = counts["fp"] / days * window_days
        scores.append(
            RuleScore(
                rule=result.rule.name,
                kind=result.rule.kind,
                predicts=result.rule.predicts.description,
                firings=n,
                firings_per_day=n / days,
                judged=counts["judged"],
                true_positives=counts["tp"],
                late=counts["late"],
                false_positives=counts["fp"],
                bad_cases=counts["bad"],
                precision=_ratio(counts["tp"] + counts["late"], counts["judged"]),
                recall=_ratio(counts["recalled"], counts["bad"]),
                median_lead_time_s=counts["lead"],
                attention_cost=per_window / budget if budget > 0 else None,
                false_alarm_cost=false_alarms / budget if budget > 0 else None,
                gain_over_latency=_gain(events, journey, result),
            )
        )
    return scores


def _gain(events: pl.DataFrame, journey: Journey, result: RuleFirings) -> dict[str, Any] | None:
    if not isinstance(result.rule, PredictedBreachRule):
        return None
    from escalator.detectors.prediction.lead_gain import lead_time_gain

    return lead_time_gain(events, journey, result.rule, result.frame)


def _score_cases(frame: pl.DataFrame, outcomes: pl.DataFrame) -> dict[str, Any]:
    fired = frame.group_by("subject").agg(pl.col("onset").min()).rename({"subject": CASE})
    joined = fired.join(outcomes, on=CASE, how="left").filter(~pl.col("censored").fill_null(False))
    bad = joined.filter(pl.col("breach").is_not_null())
    tp = bad.filter(pl.col("onset") <= pl.col("breach"))
    lead = (tp["breach"] - tp["onset"]).dt.total_seconds().median() if tp.height else None
    known = outcomes.filter(~pl.col("censored"))
    return {
        "judged": joined.height,
        "tp": tp.height,
        "late": bad.height - tp.height,
        "fp": joined.height - bad.height,
        "bad": known.filter(pl.col("breach").is_not_null()).height,
        "recalled": tp.height,
        "lead": float(lead) if lead is not None else None,  # type: ignore[arg-type]
    }


def _score_windows(
    frame: pl.DataFrame, outcomes: pl.DataFrame, horizon: timedelta
) -> dict[str, Any]:
    breaches = outcomes.filter(pl.col("breach").is_not_null()).select("breach").sort("breach")
    episodes = frame.select("onset").sort("onset")
    if episodes.height == 0 or breaches.height == 0:
        return {
            "judged": episodes.height,
            "tp": 0,
            "late": 0,
            "fp": episodes.height,
            "bad": breaches.height,
            "recalled": 0,
            "lead": None,
        }
    nxt = episodes.join_asof(
        breaches.rename({"breach": "next_breach"}),
        left_on="onset",
        right_on="next_breach",
        strategy="forward",
    )
    right = nxt.filter(pl.col("next_breach") <= pl.col("onset") + horizon)
    lead = (
        (right["next_breach"] - right["onset"]).dt.total_seconds().median()
        if right.height
        else None
    )
    prev = breaches.join_asof(
        episodes.rename({"onset": "prev_onset"}),
        left_on="breach",
        right_on="prev_onset",
        strategy="backward",
    )
    recalled = prev.filter(pl.col("breach") <= pl.col("prev_onset") + horizon).height
    return {
        "judged": episodes.height,
        "tp": right.height,
        "late": 0,
        "fp": episodes.height - right.height,
        "bad": breaches.height,
        "recalled": recalled,
        "lead": float(lead) if lead is not None else None,  # type: ignore[arg-type]
    }
