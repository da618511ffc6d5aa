"""Backtest: replay a whole log with no look-ahead and list every exception that would have fired.

Onsets are computed vectorised in one pass (each rule's onset only ever depends on
events at or before it: tests check that cutting the log at t and evaluating as of t
gives exactly the firings with onset <= t).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from escalator.detectors.evaluate import ModelUse, RuleFirings, evaluate
from escalator.detectors.events import TS, Quarantine, ReadResult
from escalator.detectors.readers import read_log
from escalator.policies.journeys import Journey
from escalator.policies.policy_set import PolicySet
from escalator.policies.rules import PredictedBreachRule

__all__ = [
    "BACKTEST_TRAIN_SHARE",
    "BacktestResult",
    "backtest_models",
    "choose_journey",
    "run_backtest",
]

# predicted_breach in a backtest: one cutoff. The model learns from the cases completed
# before the first event of the case at this share of the log (cases in order of
# their first event), and only onsets after the cutoff are judged.
BACKTEST_TRAIN_SHARE = 0.5


@dataclass
class BacktestResult:
    log: Path
    journey: Journey
    events: pl.DataFrame
    quarantine: Quarantine
    as_of: datetime | None
    results: list[RuleFirings]

    @property
    def read(self) -> ReadResult:
        return ReadResult(self.events, self.quarantine)

    def to_json(self, quarantine_file: Path | None = None) -> dict[str, Any]:
        firings = [f for r in self.results for f in r.firings()]
        firings.sort(key=lambda f: (f.onset, f.rule, f.subject))
        return {
            "log": str(self.log),
            "journey": self.journey.name,
            "events": self.events.height,
            "cases": self.events["case_id"].n_unique() if self.events.height else 0,
            "quarantined": len(self.quarantine),
            "quarantine_file": str(quarantine_file) if quarantine_file else None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "by_rule": {r.rule.name: r.frame.height for r in self.results},
            "firings": [{**f.model_dump(mode="json"), "dedupe_key": f.dedupe_key} for f in firings],
        }


def choose_journey(policies: PolicySet, name: str | None) -> Journey:
    """The named journey, or the only one; several without a name is a usage error."""
    if name is not None:
        return policies.journey(name)
    if len(policies.journeys) == 1:
        return policies.journeys[0]
    names = ", ".join(j.name for j in policies.journeys) or "none"
    raise ValueError(
        f"the policy set has {len(policies.journeys)} journeys ({names}); pick one with --journey"
    )


def run_backtest(
    log: Path,
    policies: PolicySet,
    *,
    journey: str | None = None,
    assume_timezone: str | None = None,
    as_of: datetime | None = None,
) -> BacktestResult:
    chosen = choose_journey(policies, journey)
    read = read_log(log, chosen, assume_timezone=assume_timezone)
    models = backtest_models(read.events, policies, chosen)
    results = evaluate(read.events, policies, chosen, as_of=as_of, models=models)
    last = read.events[TS].max() if read.events.height else None
    effective = as_of or (last if isinstance(last, datetime) else None)
    return BacktestResult(log, chosen, read.events, read.quarantine, effective, results)


def backtest_cutoff(events: pl.DataFrame) -> datetime | None:
    starts = events.group_by("case_id").agg(pl.col(TS).min()).sort(TS)[TS]
    if starts.len() < 2:
        return None
    moment = starts[int(starts.len() * BACKTEST_TRAIN_SHARE)]
    return moment if isinstance(moment, datetime) else None


def backtest_models(
    events: pl.DataFrame, policies: PolicySet, journey: Journey
) -> dict[str, ModelUse]:
    """A model per predicted_breach rule, trained only on cases completed before the cutoff."""
    rules = [
        r
        for r in policies.rules
        if r.journey == journey.name and isinstance(r, PredictedBreachRule)
    ]
    cutoff = backtest_cutoff(events) if rules else None
    if cutoff is None:
        return {}
    from escalator.detectors.prediction.protocol import train_predictor

    predictor = train_predictor(events, policies, journey, until=cutoff)
    return {r.name: ModelUse(predictor, judged_from=cutoff) for r in rules}
