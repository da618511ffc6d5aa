"""Evaluate a journey's rules over its events as of a moment: no event after it is seen.

This is the one entry point the backtest, the scorecard and the watch loop share, so
"what would have fired at t" means the same thing everywhere.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from escalator.detectors.business_time import BusinessClock
from escalator.detectors.events import CASE, EVENT, LINE, OFFSET, TS
from escalator.detectors.firing import Firing, empty_firings, to_firings
from escalator.detectors.rules.common import by_case
from escalator.detectors.rules.completeness import completeness_firings, present
from escalator.detectors.rules.conformance import conformance_firings
from escalator.detectors.rules.latency import latency_firings
from escalator.detectors.rules.predicted_breach import predicted_breach_firings
from escalator.detectors.rules.quality import quality_firings
from escalator.detectors.rules.volume import volume_firings
from escalator.policies.journeys import Journey
from escalator.policies.policy_set import PolicySet
from escalator.policies.rules import (
    CompletenessRule,
    ConformanceRule,
    ExceptionRule,
    LatencyRule,
    PredictedBreachRule,
    QualityRule,
    VolumeRule,
)

if TYPE_CHECKING:
    from escalator.detectors.prediction.model import Predictor

__all__ = ["ModelUse", "RuleFirings", "evaluate", "journey_rules"]


@dataclass(frozen=True)
class ModelUse:
    """The model a predicted_breach rule scores with, and from when its firings count.

    ``judged_from``: in a backtest, the moment the model's training data ends; onsets
    at or before it are not judged (the model saw those cases' outcomes).
    """

    predictor: Predictor
    judged_from: datetime | None = None


@dataclass
class RuleFirings:
    rule: ExceptionRule
    frame: pl.DataFrame  # FIRING_SCHEMA

    def firings(self) -> list[Firing]:
        return to_firings(
            self.frame,
            rule=self.rule.name,
            journey=self.rule.journey,
            kind=self.rule.kind,
            severity=self.rule.severity,
        )


def journey_rules(policies: PolicySet, journey: Journey) -> list[ExceptionRule]:
    return [r for r in policies.rules if r.journey == journey.name]


def evaluate(
    events: pl.DataFrame,
    policies: PolicySet,
    journey: Journey,
    *,
    as_of: datetime | None = None,
    rules: list[ExceptionRule] | None = None,
    models: dict[str, ModelUse] | None = None,
) -> list[RuleFirings]:
    """Every rule of ``journey`` over ``events`` with timestamp <= ``as_of``.

    ``as_of`` defaults to the last event's time (a backtest over the whole log).
    ``models``: per predicted_breach rule name, the model it scores with; a rule
    without one fires nothing.
    """
    chosen = rules if rules is not None else journey_rules(policies, journey)
    if as_of is None:
        last = events[TS].max() if events.height else None
        as_of = last if isinstance(last, datetime) else datetime.now(UTC)
    as_of = as_of.astimezone(UTC)
    # Only the columns some rule reads: every copy below is then narrower.
    needed = {CASE, EVENT, TS, LINE}
    for rule in chosen:
        if isinstance(rule, CompletenessRule):
            needed.update(rule.required_attributes)
    # Completeness only asks whether an attribute is present: carry a boolean instead of
    # the text, so grouping by case moves one byte per row instead of a string.
    cut = events.select(
        [
            present(c).alias(c) if c not in (CASE, EVENT, TS, LINE) else pl.col(c)
            for c in events.columns
            if c in needed
        ]
    )
    last = cut[TS].max() if cut.height else None
    if isinstance(last, datetime) and last > as_of:
        cut = cut.filter(pl.col(TS) <= as_of)
    by_time = cut if _time_ordered(cut) else cut.sort([TS, LINE])
    clocks: dict[str, BusinessClock] = {}
    for rule in chosen:  # calendars are built once, before the rules run in parallel
        if isinstance(rule, LatencyRule) and rule.business_hours:
            _clock(clocks, policies, rule, journey, cut, as_of)
    time_rules = [r for r in chosen if isinstance(r, QualityRule | VolumeRule)]
    predicted = [r for r in chosen if isinstance(r, PredictedBreachRule)]
    case_rules = [
        r for r in chosen if not isinstance(r, QualityRule | VolumeRule | PredictedBreachRule)
    ]

    def on_prediction(rule: PredictedBreachRule) -> pl.DataFrame:
        use = (models or {}).get(rule.name)
        if use is None:
            return empty_firings()
        wanted = {CASE, EVENT, TS, LINE, OFFSET, *journey.columns.attributes}
        own = events.select([c for c in events.columns if c in wanted])
        if own.height and own[TS].max() > as_of:  # type: ignore[operator]
            own = own.filter(pl.col(TS) <= as_of)
        calendar = policies.calendar(journey.calendar) if journey.calendar else None
        return predicted_breach_firings(
            own, rule, journey, use.predictor, as_of=as_of, calendar=calendar,
            judged_from=use.judged_from,
        )  # fmt: skip

    def on_time(rule: ExceptionRule) -> pl.DataFrame:
        if isinstance(rule, QualityRule):
            return quality_firings(by_time, rule, as_of=as_of)
        assert isinstance(rule, VolumeRule)
        return volume_firings(by_time, rule, as_of=as_of)

    def on_cases(cased: pl.DataFrame, rule: ExceptionRule) -> pl.DataFrame:
        if isinstance(rule, LatencyRule):
            clock = (
                clocks.get(rule.calendar or journey.calendar or "") if rule.business_hours else None
            )
            return latency_firings(cased, rule, as_of=as_of, clock=clock)
        if isinstance(rule, CompletenessRule):
            return completeness_firings(cased, rule, as_of=as_of)
        if isinstance(rule, ConformanceRule):
            return conformance_firings(
                cased, rule, as_of=as_of, completing_events=journey.completing_events
            )
        raise TypeError(f"unknown rule kind {rule!r}")  # pragma: no cover

    # Rules are independent and polars releases the GIL: the window rules start at once,
    # the case rules as soon as the events are grouped by case, all side by side, so
    # one rule's single-threaded stretches (sorts, scans) overlap with the others'.
    frames: dict[int, Future[pl.DataFrame]] = {}
    with ThreadPoolExecutor(max_workers=max(os.cpu_count() or 1, 2)) as pool:
        for rule in time_rules:
            frames[id(rule)] = pool.submit(on_time, rule)
        for prule in predicted:
            frames[id(prule)] = pool.submit(on_prediction, prule)
        if case_rules:
            cased = by_case(by_time, time_sorted=True)
            for rule in case_rules:
                frames[id(rule)] = pool.submit(on_cases, cased, rule)
        return [RuleFirings(rule, frames[id(rule)].result()) for rule in chosen]


def _time_ordered(frame: pl.DataFrame) -> bool:
    """Already in (timestamp, source_line) order, as the readers leave it? O(n), no copy."""
    if frame.height < 2:
        return True
    ordered = frame.select(
        (
            (pl.col(TS).diff() > pl.duration(microseconds=0))
            | ((pl.col(TS).diff() == pl.duration(microseconds=0)) & (pl.col(LINE).diff() > 0))
        )
        .slice(1)
        .all()
    ).item()
    return bool(ordered)


def _clock(
    cache: dict[str, BusinessClock],
    policies: PolicySet,
    rule: LatencyRule,
    journey: Journey,
    events: pl.DataFrame,
    as_of: datetime,
) -> BusinessClock | None:
    name = rule.calendar or journey.calendar
    if name is None:
        raise ValueError(
            f"rule {rule.name}: business_hours needs a calendar (on the rule or journey {journey.name})"
        )
    if name not in cache:
        first = events[TS].min() if events.height else as_of
        start = first if isinstance(first, datetime) else as_of
        cache[name] = BusinessClock(policies.calendar(name), start, as_of + timedelta(days=1))
    return cache[name]
