"""SLO compliance, error budget, burn rates over multiwindow tiers, and burn-down.

Burn rate over a window = (bad / valid decided in the window) / (1 - SLO): at
burn rate 1 the budget lasts exactly the SLO window. A tier fires when both its
long and short windows burn at or above the tier's threshold, and only if the
long window saw at least ``Journey.min_volume`` valid cases (a low-traffic
journey with two failures out of three cases must not page anyone).

Everything takes ``as_of`` so routing can ask "what was the burn rate at t".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from escalator.analytics.cases import case_table
from escalator.analytics.sli import outcomes_from_cases
from escalator.policies.journeys import SLI, Journey, RoutingTier

__all__ = [
    "BurnRate",
    "SLOStatus",
    "TierEvaluation",
    "burn_down",
    "burn_rate",
    "evaluate_journey",
    "evaluate_tiers",
    "routing_action",
    "slo_status",
]


@dataclass(frozen=True)
class BurnRate:
    window_seconds: float
    valid: int
    bad: int
    error_ratio: float | None
    burn_rate: float | None  # None when no valid case was decided in the window


@dataclass(frozen=True)
class TierEvaluation:
    sli: str
    action: str
    threshold: float
    long: BurnRate
    short: BurnRate
    min_volume: int
    guarded: bool  # too few valid cases in the long window to trust the rate
    fires: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SLOStatus:
    journey: str
    sli: str
    type: str
    objective: float  # percent
    window_seconds: float
    valid: int
    good: int
    bad: int
    compliance: float | None  # good / valid over the window; None with no valid case
    met: bool | None
    error_budget_remaining: float  # share of the window's budget left (negative: overspent)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _in_window(outcomes: pl.DataFrame, as_of: datetime, window: timedelta) -> pl.DataFrame:
    start = as_of - window
    return outcomes.filter((pl.col("decided_at") > start) & (pl.col("decided_at") <= as_of))


def _counts(frame: pl.DataFrame) -> tuple[int, int]:
    valid = frame.height
    bad = int((~frame["good"]).sum()) if valid else 0
    return valid, bad


def burn_rate(
    outcomes: pl.DataFrame, objective: float, as_of: datetime, window: timedelta
) -> BurnRate:
    """Burn rate of the cases decided in (as_of - window, as_of]."""
    valid, bad = _counts(_in_window(outcomes, as_of, window))
    if valid == 0:
        return BurnRate(window.total_seconds(), 0, 0, None, None)
    ratio = bad / valid
    return BurnRate(window.total_seconds(), valid, bad, ratio, ratio / (1 - objective / 100))


def evaluate_tiers(
    outcomes: pl.DataFrame,
    journey: Journey,
    sli: SLI,
    as_of: datetime,
    tiers: list[RoutingTier] | None = None,
) -> list[TierEvaluation]:
    """Each routing tier of the journey, evaluated on one SLI's outcomes as of ``as_of``."""
    result = []
    for tier in tiers if tiers is not None else journey.routing:
        threshold = tier.threshold(journey.window)
        long = burn_rate(outcomes, sli.objective, as_of, tier.long_window)
        short = burn_rate(outcomes, sli.objective, as_of, tier.short_window)
        guarded = long.valid < journey.min_volume
        fires = (
            not guarded
            and long.burn_rate is not None
            and short.burn_rate is not None
            and long.burn_rate >= threshold
            and short.burn_rate >= threshold
        )
        result.append(
            TierEvaluation(
                sli.name, tier.action, threshold, long, short, journey.min_volume, guarded, fires
            )
        )
    return result


def evaluate_journey(log: pl.DataFrame, journey: Journey, as_of: datetime) -> list[TierEvaluation]:
    """Every tier for every SLI of the journey, from its event log, as of ``as_of``.

    The routing decision is the first firing tier's action (tiers are ordered
    most urgent first), or a digest when none fires.
    """
    cases = case_table(log, journey.slis, [], as_of)
    out: list[TierEvaluation] = []
    for i, sli in enumerate(journey.slis):
        out += evaluate_tiers(outcomes_from_cases(cases, i, sli, as_of), journey, sli, as_of)
    return out


def slo_status(outcomes: pl.DataFrame, journey: Journey, sli: SLI, as_of: datetime) -> SLOStatus:
    valid, bad = _counts(_in_window(outcomes, as_of, journey.window))
    good = valid - bad
    compliance = good / valid if valid else None
    allowed = valid * (1 - sli.objective / 100)
    remaining = 1.0 - bad / allowed if allowed > 0 else 1.0
    return SLOStatus(
        journey=journey.name,
        sli=sli.name,
        type=sli.type,
        objective=sli.objective,
        window_seconds=journey.window.total_seconds(),
        valid=valid,
        good=good,
        bad=bad,
        compliance=None if compliance is None else round(compliance, 6),
        met=None if compliance is None else compliance * 100 >= sli.objective,
        error_budget_remaining=round(remaining, 6),
    )


def burn_down(
    outcomes: pl.DataFrame, journey: Journey, sli: SLI, as_of: datetime, points: int = 28
) -> list[dict[str, Any]]:
    """Budget remaining through the window: at each of ``points`` equal steps, 1 minus the
    bad cases so far over the whole window's budget ((1 - SLO) x valid cases)."""
    window = _in_window(outcomes, as_of, journey.window)
    valid, _ = _counts(window)
    allowed = valid * (1 - sli.objective / 100)
    start = as_of - journey.window
    bad_times = window.filter(~pl.col("good"))["decided_at"].sort()
    series = []
    for i in range(points + 1):
        at = start + journey.window * i / points
        spent = int((bad_times <= at).sum()) if len(bad_times) else 0
        remaining = 1.0 - spent / allowed if allowed > 0 else 1.0
        series.append({"at": at.isoformat(), "remaining": round(remaining, 6)})
    return series


def routing_action(evaluations: list[TierEvaluation]) -> tuple[str | None, str]:
    """The action of the most urgent firing tier (page > notify > ticket) and why;
    ``(None, reason)`` when no tier fires, e.g. for a digest."""
    rank = {"page": 0, "notify": 1, "ticket": 2}
    firing = sorted((e for e in evaluations if e.fires), key=lambda e: rank[e.action])
    if not firing:
        guarded = [e for e in evaluations if e.guarded]
        why = "no burn-rate tier fires"
        if guarded:
            why += f" ({len(guarded)} tier(s) below the minimum volume of {guarded[0].min_volume} cases)"
        return None, why
    top = firing[0]
    assert top.long.burn_rate is not None and top.short.burn_rate is not None
    return top.action, (
        f"{top.sli}: burn rate {top.long.burn_rate:.1f} over {top.long.window_seconds / 3600:g} h "
        f"and {top.short.burn_rate:.1f} over {top.short.window_seconds / 3600:g} h "
        f">= {top.threshold:.2f}"
    )
