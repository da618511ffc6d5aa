"""Scorecard: each rule is a hypothesis about an outcome; score it against the log.

Outcome per case (from ``rule.predicts``): the case is *bad* if it has one of
``events`` (breach = the first such event), or if it does not reach ``not_reached``
within ``within`` of its first event (breach = first event + within). A case whose
outcome cannot be known yet at the log's end is *censored* and left out of every
figure: its deadline lies after the log's end and it has not reached the event, or
(outcome ``events``, journey ``completing_events``) it is still open, so the bad event
may yet come. A known bad event settles a case either way.

Every firing falls in exactly one of four classes, by one definition of *late* (the
firing came after the outcome, so it predicted nothing):

* hit: the outcome was bad and the firing came at or before the breach;
* late: the outcome was bad and the firing came after it;
* false alarm: the outcome was good;
* censored: the outcome is not known yet (left out).

Case rules (latency, completeness, conformance, predicted_breach), one verdict per
fired case, judged by its first firing:

* base rate = bad cases / known cases: what a rule firing at random would score;
* precision = hits / judged (hits + late + false alarms); ``late_share`` = late / judged;
* recall = bad cases hit / bad cases; of the rest, ``late_bad`` were only caught late
  and ``missed`` never fired;
* lift = precision / base rate (< 1: the rule is worse than chance);
* lead time = breach - onset over the hits (median).

Aggregate rules (quality, volume) fire for a window, not a case, and are judged per
episode (``escalator/detectors/scorecard_episodes.py``): the bad cases' breaches form
outcome episodes, and recall counts episodes, not the cases inside them.

Precision, recall and lift carry 95 % Wilson intervals (the lift's is the precision's
divided by the base rate), as the mining correlations do.

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
from escalator.detectors.intervals import wilson
from escalator.detectors.scorecard_episodes import Counts, score_episodes
from escalator.policies.journeys import AvailabilitySLI, Journey
from escalator.policies.rules import Outcome, PredictedBreachRule, QualityRule, VolumeRule

__all__ = ["Counts", "RuleScore", "case_outcomes", "score_rules"]

_DAY = timedelta(days=1)
_UTC_US = pl.Datetime("us", "UTC")


@dataclass
class RuleScore:
    rule: str
    kind: str
    predicts: str
    unit: str  # "case" or "episode": what one verdict is about
    firings: int
    firings_per_day: float
    judged: int  # verdicts with a known outcome: hits + late + false alarms
    true_positives: int  # hits: fired at or before the breach
    late: int  # fired after the breach
    false_positives: int  # the outcome was good
    censored: int  # verdicts whose outcome is not known yet (not judged)
    known_cases: int  # cases whose outcome is known
    bad_cases: int  # of those, bad
    bad: int  # recall's denominator: bad cases, or outcome episodes for aggregate rules
    recalled: int  # of ``bad``: warned before the breach
    late_bad: int  # of ``bad``: caught only after the breach
    missed: int  # of ``bad``: never fired
    base_rate: float | None
    precision: float | None
    precision_ci: list[float] | None
    lift: float | None
    lift_ci: list[float] | None
    recall: float | None
    recall_ci: list[float] | None
    late_share: float | None  # late / judged
    median_lead_time_s: float | None
    attention_cost: float | None
    false_alarm_cost: float | None
    # predicted_breach only: how much earlier than the plain latency rule on its SLI.
    gain_over_latency: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def case_outcomes(
    events: pl.DataFrame,
    outcome: Outcome,
    log_end: datetime,
    completing_events: list[str] | None = None,
) -> pl.DataFrame:
    """Per case: ``breach`` (null when good or unknown), ``censored`` (outcome not known yet).

    ``completing_events`` (the journey's): a case without one, and without a bad event,
    may still get a bad event after the log's end, so an ``events`` outcome is unknown.
    """
    per_case = events.group_by(CASE).agg(pl.col(TS).min().alias("first"))
    if outcome.events:
        bad = (
            events.filter(pl.col(EVENT).is_in(outcome.events))
            .group_by(CASE)
            .agg(pl.col(TS).min().alias("bad_event"))
        )
        per_case = per_case.join(bad, on=CASE, how="left")
    else:
        per_case = per_case.with_columns(pl.lit(None, _UTC_US).alias("bad_event"))
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
            pl.lit(None, _UTC_US).alias("deadline_breach"), pl.lit(False).alias("censored")
        )
    if outcome.events and completing_events:
        done = events.filter(pl.col(EVENT).is_in(completing_events)).select(CASE).unique()
        per_case = per_case.join(
            done.with_columns(pl.lit(True).alias("done")), on=CASE, how="left"
        ).with_columns(pl.col("censored") | pl.col("done").is_null())
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


def _ci(num: int, den: int) -> list[float] | None:
    lo, hi = wilson(num, den)
    return None if lo is None or hi is None else [lo, hi]


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
    judged_outcomes: dict[str, pl.DataFrame] = {}
    scores = []
    for result in results:
        predicts = result.rule.predicts
        key = predicts.model_dump_json()
        if key not in judged_outcomes:  # rules predicting the same outcome share it
            judged_outcomes[key] = case_outcomes(events, predicts, last, journey.completing_events)
        outcomes = judged_outcomes[key]
        if isinstance(result.rule, QualityRule | VolumeRule):
            c = score_episodes(result.frame, outcomes, result.rule.window, first, last)
        else:
            c = _score_cases(result.frame, outcomes)
        n = result.frame.height
        per_window = n / days * window_days
        false_alarms = c.false_alarms / days * window_days
        precision = _ratio(c.hits, c.judged)
        p_ci = _ci(c.hits, c.judged)
        base = c.base_rate
        scores.append(
            RuleScore(
                rule=result.rule.name,
                kind=result.rule.kind,
                predicts=predicts.description,
                unit=c.unit,
                firings=n,
                firings_per_day=n / days,
                judged=c.judged,
                true_positives=c.hits,
                late=c.late,
                false_positives=c.false_alarms,
                censored=c.censored,
                known_cases=c.known_cases,
                bad_cases=c.bad_cases,
                bad=c.bad,
                recalled=c.recalled,
                late_bad=c.late_bad,
                missed=c.bad - c.recalled - c.late_bad,
                base_rate=base,
                precision=precision,
                precision_ci=p_ci,
                lift=precision / base if precision is not None and base else None,
                lift_ci=[p_ci[0] / base, p_ci[1] / base] if p_ci and base else None,
                recall=_ratio(c.recalled, c.bad),
                recall_ci=_ci(c.recalled, c.bad),
                late_share=_ratio(c.late, c.judged),
                median_lead_time_s=c.lead_s,
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


def _score_cases(frame: pl.DataFrame, outcomes: pl.DataFrame) -> Counts:
    fired = frame.group_by("subject").agg(pl.col("onset").min()).rename({"subject": CASE})
    joined = fired.join(outcomes, on=CASE, how="left")
    censored = joined.filter(pl.col("censored").fill_null(False))
    judged = joined.filter(~pl.col("censored").fill_null(False))
    bad = judged.filter(pl.col("breach").is_not_null())
    hits = bad.filter(pl.col("onset") <= pl.col("breach"))
    lead = (hits["breach"] - hits["onset"]).dt.total_seconds().median() if hits.height else None
    known = outcomes.filter(~pl.col("censored"))
    bad_cases = known.filter(pl.col("breach").is_not_null()).height
    return Counts(
        unit="case",
        judged=judged.height,
        hits=hits.height,
        late=bad.height - hits.height,
        false_alarms=judged.height - bad.height,
        censored=censored.height,
        known_cases=known.height,
        bad_cases=bad_cases,
        bad=bad_cases,
        recalled=hits.height,
        late_bad=bad.height - hits.height,
        base_rate=_ratio(bad_cases, known.height),
        lead_s=float(lead) if lead is not None else None,  # type: ignore[arg-type]
    )
