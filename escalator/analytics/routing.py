"""The routing decision: page, notify, ticket or suppress — pure, from the facts at one moment.

Alert fatigue is avoided mathematically: an exception interrupts someone only
when its journey burns error budget fast enough that a multiwindow tier fires
(``escalator.analytics.slo.evaluate_tiers``). The order of the rules:

1. **silence**: a matching silence or maintenance window suppresses (it is a
   deliberate human act, so it holds even critical exceptions);
2. **burn rate**: the most urgent firing tier's action; none firing (or too few
   cases to trust the rate: the minimum-volume guard) means a ticket. No burn
   data at all (no source wired) means page: better a page too many than an
   exception nobody sees;
3. **severity floor**: ``critical`` always pages, ``high`` is at least a
   notification (``SEVERITY_FLOOR``);
4. **role volume**: a role already paged ``max_pages_per_hour`` times in the last
   hour gets a notification instead of one more page;
5. **support hours**: outside them the action drops one tier (page → notify →
   ticket) and is delivered when support hours start.

Critical severity never drops (rules 4 and 5). A tier whose threshold exceeds
the largest possible burn rate ``1 / (1 - SLO)`` can never fire: it is reported
in the decision's inputs as a policy error instead of silently never paging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from escalator.analytics.slo import TierEvaluation, routing_action
from escalator.policies.business_hours import is_open, next_open
from escalator.policies.calendars import Calendar
from escalator.policies.duration import format_duration
from escalator.policies.journeys import Journey

__all__ = [
    "DEFAULT_MAX_PAGES_PER_HOUR",
    "SEVERITY_FLOOR",
    "Action",
    "ActiveSilence",
    "RoutingFacts",
    "RoutingOutcome",
    "decide",
    "max_burn_rate",
]

Action = Literal["page", "notify", "ticket", "suppress"]
_RANK: dict[str, int] = {"page": 0, "notify": 1, "ticket": 2}
_DROP = {"page": "notify", "notify": "ticket", "ticket": "ticket"}
_VERB = {"page": "paged", "notify": "notified", "ticket": "ticketed", "suppress": "suppressed"}
SEVERITY_FLOOR: dict[str, str] = {"critical": "page", "high": "notify"}
DEFAULT_MAX_PAGES_PER_HOUR = 10


@dataclass(frozen=True)
class ActiveSilence:
    """A silence or maintenance window that matches the exception now."""

    id: str
    reason: str
    created_by: str
    ends_at: datetime | None  # None: until the exception ``until_resolved`` resolves
    until_resolved: str | None = None


@dataclass(frozen=True)
class RoutingFacts:
    journey: Journey
    severity: str
    now: datetime
    evaluations: list[TierEvaluation] | None  # None: no burn-rate source
    calendar: Calendar | None = None
    silences: list[ActiveSilence] = field(default_factory=list)
    role: str = ""
    role_pages_last_hour: int = 0
    max_pages_per_hour: int = DEFAULT_MAX_PAGES_PER_HOUR


@dataclass(frozen=True)
class RoutingOutcome:
    action: Action
    reason: str
    headline: str  # "paged: orderToShip burning 16x over 1h and 5m"
    deliver_at: datetime | None = None  # held until support hours start
    silence: ActiveSilence | None = None
    inputs: dict[str, Any] = field(default_factory=dict)


def max_burn_rate(objective: float) -> float:
    """The largest burn rate possible: every valid case bad."""
    return 1 / (1 - objective / 100)


def _burning(journey: str, evaluations: list[TierEvaluation]) -> str:
    """ "orderToShip burning 16x over 1h and 5m" for the most urgent tier with data."""
    firing = [e for e in evaluations if e.fires] or [
        e for e in evaluations if e.long.burn_rate is not None
    ]
    if not firing:
        return f"{journey}: no decided case in any burn-rate window"
    top = min(firing, key=lambda e: (_RANK[e.action], -(e.long.burn_rate or 0)))
    long_w = format_duration(timedelta(seconds=top.long.window_seconds))
    short_w = format_duration(timedelta(seconds=top.short.window_seconds))
    return (
        f"{journey} burning {top.long.burn_rate or 0:.3g}x over {long_w} "
        f"and {top.short.burn_rate or 0:.3g}x over {short_w}"
        + ("" if top.fires else f" (below {top.threshold:.3g}x)")
    )


def decide(facts: RoutingFacts) -> RoutingOutcome:
    """The routing decision for one exception, and every input it was taken on."""
    name = facts.journey.name
    inputs: dict[str, Any] = {
        "severity": facts.severity,
        "role": facts.role,
        "role_pages_last_hour": facts.role_pages_last_hour,
        "max_pages_per_hour": facts.max_pages_per_hour,
        "calendar": facts.calendar.name if facts.calendar else None,
        "tiers": [e.as_dict() for e in facts.evaluations or []],
    }
    objectives = {s.name: s.objective for s in facts.journey.slis}
    never = [
        f"{e.sli}: {e.action} tier {format_duration(timedelta(seconds=e.long.window_seconds))} "
        f"needs {e.threshold:.3g}x but at most {max_burn_rate(objectives[e.sli]):.3g}x is possible"
        for e in facts.evaluations or []
        if e.sli in objectives and e.threshold > max_burn_rate(objectives[e.sli])
    ]
    if never:
        inputs["policy_errors"] = never
    if facts.silences:
        silence = facts.silences[0]
        inputs["silence"] = silence.id
        until = (
            f"until {silence.ends_at.isoformat()}"
            if silence.ends_at
            else f"until {silence.until_resolved} resolves"
        )
        reason = f"silenced by {silence.id} ({silence.reason}, {silence.created_by}, {until})"
        return RoutingOutcome("suppress", reason, f"suppressed: {reason}", None, silence, inputs)

    steps: list[str] = []
    if facts.evaluations is None:
        action, why = "page", "no burn-rate source: paging"
        burning = f"{name}: burn rate unknown"
    else:
        fired, why = routing_action(facts.evaluations)
        action = fired or "ticket"
        if fired is None:
            why = f"{why}: a ticket"
        burning = _burning(name, facts.evaluations)
    steps.append(why)
    floor = SEVERITY_FLOOR.get(facts.severity)
    if floor and _RANK[floor] < _RANK[action]:
        steps.append(f"severity {facts.severity} is at least a {floor}")
        action = floor
    critical = facts.severity == "critical"
    if action == "page" and not critical and facts.role_pages_last_hour >= facts.max_pages_per_hour:
        steps.append(
            f"{facts.role} was paged {facts.role_pages_last_hour} times in the last hour "
            f"(limit {facts.max_pages_per_hour}): a notification instead"
        )
        action = "notify"
    deliver_at = None
    open_now = is_open(facts.now, facts.calendar)
    inputs["support_hours_open"] = open_now
    if not open_now and not critical:
        deliver_at = next_open(facts.now, facts.calendar)
        dropped = _DROP[action]
        steps.append(
            f"outside support hours ({facts.calendar.name if facts.calendar else ''}): "
            f"{action} drops to {dropped}, delivered at {deliver_at.isoformat()}"
        )
        action = dropped
        inputs["deliver_at"] = deliver_at.isoformat()
    elif not open_now:
        steps.append("outside support hours, but critical never waits")
    return RoutingOutcome(
        action,  # type: ignore[arg-type]
        "; ".join(steps),
        f"{_VERB[action]}: {burning}",
        deliver_at,
        None,
        inputs,
    )
