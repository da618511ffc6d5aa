"""The routing decision activity: gathers the facts, lets `escalator.analytics.routing.decide` choose.

Facts come through three small protocols, so the worker wires real sources and
tests wire real ones over a test's own event log and database:

- `BurnRateSource`: the journey's multiwindow tier evaluations as of t
  (`LogBurnRates` computes them from a canonical event-log frame);
- `SilenceSource`: the silences holding an exception (`SqlSilences` over the
  records database);
- `PageVolume`: how often a role was paged recently (`StorePageVolume` over
  the records timeline, `RecorderPageVolume` over the in-memory recorder).

A missing source is a missing fact, never an error: no burn rates means page
(better a page too many than an exception nobody sees).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

import polars as pl
import sqlalchemy as sa
from temporalio import activity

from escalator.activities.records import InMemoryRecorder
from escalator.analytics.routing import (
    DEFAULT_MAX_PAGES_PER_HOUR,
    ActiveSilence,
    RoutingFacts,
    decide,
)
from escalator.analytics.slo import TierEvaluation, evaluate_journey
from escalator.policies.journeys import Journey
from escalator.workflows.activity_contracts import ACTIVITY_ROUTE, RoutingDecision, RoutingInput
from escalator.workflows.contracts import StepKind

__all__ = [
    "PAGE_REASONS",
    "BurnRateSource",
    "Decide",
    "LogBurnRates",
    "PageVolume",
    "RecorderPageVolume",
    "Router",
    "RoutingActivities",
    "SilenceSource",
    "SqlSilences",
    "StorePageVolume",
    "always_page",
]

Decide = Callable[[RoutingInput], Awaitable[RoutingDecision]]
# Notification reasons that interrupt someone (counted by the role-volume guard).
PAGE_REASONS = frozenset(
    {"first", "escalated", "reminder", "reverted", "reassigned", "broadcast", "repeat"}
)


async def always_page(inp: RoutingInput) -> RoutingDecision:
    return RoutingDecision(action="page", reason="default: page (no routing policy wired)")


class BurnRateSource(Protocol):
    async def evaluations(self, journey: Journey, as_of: datetime) -> list[TierEvaluation] | None:
        """Every routing tier of every SLI as of ``as_of``; None when the journey has no data."""
        ...


class SilenceSource(Protocol):
    async def active_for(
        self, journey: str, rule: str, labels: Mapping[str, str], at: datetime
    ) -> list[ActiveSilence]: ...


class PageVolume(Protocol):
    async def pages_since(self, role: str, since: datetime) -> int: ...


@dataclass
class LogBurnRates:
    """Burn rates computed from each journey's canonical event-log frame (detectors' events).

    Evaluations are kept per journey, log frame and ``resolution`` step of time: a
    storm of detections within a minute costs one evaluation, not thousands.
    """

    logs: Mapping[str, Callable[[], pl.DataFrame]]
    resolution: timedelta = timedelta(minutes=1)
    _cache: dict[tuple[str, int, float], list[TierEvaluation]] = field(
        default_factory=dict, repr=False
    )

    async def evaluations(self, journey: Journey, as_of: datetime) -> list[TierEvaluation] | None:
        load = self.logs.get(journey.name)
        if load is None:
            return None
        frame = await asyncio.to_thread(load)
        seconds = as_of.timestamp()
        key = (journey.name, id(frame), seconds - seconds % self.resolution.total_seconds())
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = await asyncio.to_thread(evaluate_journey, frame, journey, as_of)
        return self._cache[key]


T = TypeVar("T")
DB_TRIES = 4  # a dropped connection (failover, proxy restart) is retried at once, in-process


async def _reconnecting(read: Callable[[], Awaitable[T]]) -> T:
    """A records read that survives dropped connections: the pool reconnects and the read
    is made again within a second, so a flapping database does not cost the activity's
    retry back-off (seconds) before the first page. Other errors, and a database still
    down after the tries, fail the activity as before (the workflow then pages)."""
    for attempt in range(DB_TRIES):
        try:
            return await read()
        except sa.exc.DBAPIError:
            if attempt == DB_TRIES - 1:
                raise
            await asyncio.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class SqlSilences:
    """`escalator.records.silences.SilenceStore` behind the `SilenceSource` protocol."""

    store: Any  # escalator.records.silences.SilenceStore (activities do not import records at import time)

    async def active_for(
        self, journey: str, rule: str, labels: Mapping[str, str], at: datetime
    ) -> list[ActiveSilence]:
        rows = await self.store.active_for_async(journey, rule, labels, at)
        return [
            ActiveSilence(r.id, r.reason, r.created_by, r.ends_at, r.until_resolved) for r in rows
        ]


@dataclass
class StorePageVolume:
    """Pages per role from the records timeline (NOTIFIED steps with a paging reason)."""

    engine: sa.Engine

    def _count(self, role: str, since: datetime) -> int:
        from escalator.records.tables import TimelineRecord

        steps = TimelineRecord.__table__  # type: ignore[attr-defined]
        query = sa.select(steps.c.detail).where(
            steps.c.kind == StepKind.NOTIFIED.value, steps.c.role == role, steps.c.at > since
        )
        with self.engine.connect() as conn:
            return sum(1 for (d,) in conn.execute(query) if (d or {}).get("reason") in PAGE_REASONS)

    async def pages_since(self, role: str, since: datetime) -> int:
        return await asyncio.to_thread(self._count, role, since)


@dataclass
class RecorderPageVolume:
    recorder: InMemoryRecorder

    async def pages_since(self, role: str, since: datetime) -> int:
        return sum(
            1
            for s in self.recorder.steps.values()
            if s.kind is StepKind.NOTIFIED
            and s.role == role
            and s.at > since
            and s.detail.get("reason") in PAGE_REASONS
        )


@dataclass
class Router:
    """A `Decide` function: the facts for one exception, then `escalator.analytics.routing.decide`."""

    burn_rates: BurnRateSource | None = None
    silences: SilenceSource | None = None
    volume: PageVolume | None = None
    max_pages_per_hour: int = DEFAULT_MAX_PAGES_PER_HOUR
    # A silence without an end time (until an exception resolves) is re-checked this often.
    hold_recheck: timedelta = timedelta(minutes=5)
    # Burn rates as of the decision (live) or of the detection's own time (a log replayed
    # faster than real time, as in the demo and the four-week scenario).
    burn_at: Literal["decision", "detection"] = "decision"
    # A log replayed at this many times real time (the demo): support hours are judged at
    # the detection's log time too, and a delivery held until they start waits the log's
    # wait divided by the speed, so the replay shows the drop without waiting a weekend.
    replay_speed: float | None = None

    async def __call__(self, inp: RoutingInput) -> RoutingDecision:
        policy, d = inp.policy, inp.detection
        at = inp.at or datetime.now(UTC)
        labels = {**policy.rule.labels, **d.attributes}
        role = policy.escalation.levels[0].role if policy.escalation.levels else policy.rule.owner
        log_at = d.detected_at or d.onset
        burn_at = log_at if self.burn_at == "detection" or self.replay_speed else at
        clock = log_at if self.replay_speed else at  # the moment support hours are judged at
        evaluations = (
            await self.burn_rates.evaluations(policy.journey, burn_at) if self.burn_rates else None
        )
        source, volume = self.silences, self.volume
        silences = (
            await _reconnecting(lambda: source.active_for(d.journey, d.rule, labels, at))
            if source
            else []
        )
        pages = (
            await _reconnecting(lambda: volume.pages_since(role, at - timedelta(hours=1)))
            if volume
            else 0
        )
        out = decide(
            RoutingFacts(
                journey=policy.journey,
                severity=policy.rule.severity,
                now=clock,
                evaluations=evaluations,
                calendar=policy.calendar,
                silences=silences,
                role=role,
                role_pages_last_hour=pages,
                max_pages_per_hour=self.max_pages_per_hour,
            )
        )
        recheck = None
        if out.silence is not None:
            recheck = at + self.hold_recheck
            if out.silence.ends_at is not None:
                recheck = min(recheck, out.silence.ends_at)
        deliver_at = out.deliver_at
        if deliver_at is not None and self.replay_speed:
            deliver_at = at + (deliver_at - clock) / self.replay_speed
        return RoutingDecision(
            action=out.action,
            reason=out.reason,
            headline=out.headline,
            deliver_at=deliver_at,
            recheck_at=recheck,
            silence_id=out.silence.id if out.silence else None,
            inputs={
                **out.inputs,
                "at": at.isoformat(),
                "burn_as_of": burn_at.isoformat(),
                **(
                    {"replay_speed": self.replay_speed, "log_time": clock.isoformat()}
                    if self.replay_speed
                    else {}
                ),
            },
        )


class RoutingActivities:
    def __init__(self, decide: Decide = always_page) -> None:
        self.decide = decide

    @activity.defn(name=ACTIVITY_ROUTE)
    async def decide_routing(self, inp: RoutingInput) -> RoutingDecision:
        return await self.decide(inp)
