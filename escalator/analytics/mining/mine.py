"""`mine`: every table in one result, and its JSON (the keys the docs and tests name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from escalator.analytics.mining.bottlenecks import bottlenecks
from escalator.analytics.mining.correlations import correlations
from escalator.analytics.mining.frame import CaseLog, case_log
from escalator.analytics.mining.paths import directly_follows, edge_coverage, variants
from escalator.analytics.mining.rework import rework
from escalator.policies.calendars import Calendar
from escalator.policies.rules import Outcome

__all__ = ["MineResult", "mine"]


@dataclass
class MineResult:
    journey: str
    log: CaseLog
    variant_table: pl.DataFrame
    data: dict[str, Any]

    def coverage(self) -> dict[tuple[str, str], float]:
        return edge_coverage(self.variant_table, self.log.activities)


def mine(
    events: pl.DataFrame,
    journey: str,
    outcome: Outcome | None,
    calendar: Calendar | None = None,
    *,
    top_variants: int = 50,
    min_support: int = 5,
    completing_events: list[str] | None = None,
) -> MineResult:
    log = case_log(events, outcome, completing_events)
    table, rows = variants(log, top_variants)
    known = log.cases.filter(pl.col("bad").is_not_null())
    data: dict[str, Any] = {
        "journey": journey,
        "events": log.events.height,
        "cases": log.cases.height,
        "outcome": outcome.description if outcome else None,
        "base_rate": (known["bad"].sum() / known.height) if outcome and known.height else None,
        "censored_cases": (log.cases.height - known.height) if outcome else None,
        "variant_count": table.height,
        "variants": rows,
        "dfg": directly_follows(log),
        "rework": rework(log),
        "correlations": correlations(log, min_support=min_support),
        "bottlenecks": bottlenecks(log, calendar),
    }
    return MineResult(journey, log, table, data)
