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

from detectors.evaluate import RuleFirings, evaluate
from detectors.events import TS, Quarantine
from detectors.readers import read_log
from policies.journeys import Journey
from policies.policy_set import PolicySet

__all__ = ["BacktestResult", "choose_journey", "run_backtest"]


@dataclass
class BacktestResult:
    log: Path
    journey: Journey
    events: pl.DataFrame
    quarantine: Quarantine
    as_of: datetime | None
    results: list[RuleFirings]

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
    results = evaluate(read.events, policies, chosen, as_of=as_of)
    last = read.events[TS].max() if read.events.height else None
    effective = as_of or (last if isinstance(last, datetime) else None)
    return BacktestResult(log, chosen, read.events, read.quarantine, effective, results)
