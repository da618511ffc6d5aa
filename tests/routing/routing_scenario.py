"""Simulated event logs for routing tests: periods of healthy, slow- and fast-burning traffic.

Every case is ``order_created`` then, ten minutes later, ``order_shipped`` (good)
or ``order_cancelled`` (bad). Bad cases are spread evenly (an accumulator: at
2 % every 50th case is bad), so short windows see the period's ratio, not
luck. The generator also returns the plain list of outcomes
``(decided_at, good)`` so a test can compute burn rates independently of the
polars analytics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from escalator.analytics.schema import LOG_SCHEMA
from escalator.policies.journeys import Journey

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
DECIDE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Period:
    length: timedelta
    cases_per_hour: float
    bad_ratio: float


@dataclass(frozen=True)
class SimulatedLog:
    frame: pl.DataFrame
    outcomes: list[tuple[datetime, bool]]  # (decided_at, good), for the oracle
    bad_cases: list[datetime]  # when each bad case was decided


def simulate(periods: list[Period], *, start: datetime = START, prefix: str = "o") -> SimulatedLog:
    cases: list[str] = []
    names: list[str] = []
    times: list[datetime] = []
    outcomes: list[tuple[datetime, bool]] = []
    at, n = start, 0
    for period in periods:
        end = at + period.length
        step = timedelta(hours=1) / period.cases_per_hour
        acc = 0.0
        while at < end:
            n += 1
            case = f"{prefix}{n}"
            acc += period.bad_ratio
            good = acc < 1 - 1e-9
            if not good:
                acc -= 1
            decided = at + DECIDE_AFTER
            cases += [case, case]
            names += ["order_created", "order_shipped" if good else "order_cancelled"]
            times += [at, decided]
            outcomes.append((decided, good))
            at += step
        at = end
    frame = pl.DataFrame(
        {"case_id": cases, "event_name": names, "timestamp": times, "actor": ["shop"] * len(cases)},
        schema=LOG_SCHEMA,
    )
    return SimulatedLog(frame, outcomes, [d for d, good in outcomes if not good])


def journey(name: str = "orderToShip", *, min_volume: int = 20, **extra: object) -> Journey:
    """An availability journey, SLO 99.5 % over 28 days, the SRE workbook tiers by default."""
    return Journey.model_validate(
        {
            "name": name,
            "window": "28d",
            "min_volume": min_volume,
            "slis": [
                {
                    "type": "availability",
                    "name": "shipped",
                    "valid_events": ["order_created"],
                    "good_events": ["order_shipped"],
                    "bad_events": ["order_cancelled"],
                    "objective": 99.5,
                }
            ],
            **extra,
        }
    )
