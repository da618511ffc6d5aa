"""Journeys: their SLIs, SLO window, routing tiers and how their event log is read."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from escalator.policies.base import Name, PolicyModel
from escalator.policies.calendars import known_zone
from escalator.policies.duration import Duration

__all__ = [
    "SLI",
    "AvailabilitySLI",
    "ColumnMapping",
    "Journey",
    "LatencySLI",
    "RoutingAction",
    "RoutingTier",
    "default_routing_tiers",
]

RoutingAction = Literal["page", "notify", "ticket"]
Percent = Annotated[float, Field(gt=0, lt=100)]


class AvailabilitySLI(PolicyModel):
    """Share of valid cases that ended well: good = reached a good event, not a bad one."""

    type: Literal["availability"]
    """`availability`."""
    name: Name
    """The SLI's name, unique within the journey."""
    valid_events: list[str] = Field(min_length=1)  # a case is valid once it has one of these
    """A case counts (is valid) once it has one of these events."""
    good_events: list[str] = Field(min_length=1)
    """A valid case is good once it has one of these events (and none of `bad_events`)."""
    bad_events: list[str] = Field(default_factory=list)
    """A valid case with one of these events is bad."""
    objective: Percent  # e.g. 99.5 (%)
    """The SLO in per cent of valid cases, e.g. `99.5`; the error budget is 100 - objective."""


class LatencySLI(PolicyModel):
    """Share of cases going from start_event to end_event within the threshold."""

    type: Literal["latency"]
    """`latency`."""
    name: Name
    """The SLI's name, unique within the journey."""
    start_event: str
    """The case's first event of this name starts the clock."""
    end_event: str
    """The case's first event of this name stops it: one event name, not a list."""
    threshold: Duration
    """A case is good when it reaches `end_event` within this of `start_event`."""
    # Optional per-attribute thresholds, e.g. resolution SLA by severity.
    threshold_attribute: str | None = None
    """An event attribute (e.g. `severity`) whose value picks a threshold from `thresholds`."""
    thresholds: dict[str, Duration] = Field(default_factory=dict)
    """Threshold per value of `threshold_attribute`; other values use `threshold`."""
    objective: Percent
    """The SLO in per cent of cases, e.g. `95`."""


SLI = Annotated[AvailabilitySLI | LatencySLI, Field(discriminator="type")]


class RoutingTier(PolicyModel):
    """A multiwindow burn-rate tier: fire when BOTH windows burn faster than burn_rate.

    Give ``burn_rate`` directly, or ``budget_fraction`` (share of the whole
    error budget spent within ``long_window``), from which the burn rate is
    scaled to the journey's SLO window.
    """

    long_window: Duration
    """The long window of the tier (e.g. `1h`)."""
    short_window: Duration
    """The short window, shorter than `long_window` (e.g. `5m`): the burn must still be going on."""
    burn_rate: float | None = Field(default=None, gt=0)
    """Fire when both windows burn faster than this (error ratio / (1 - objective)). Give this or `budget_fraction`."""
    budget_fraction: float | None = Field(default=None, gt=0, le=1)
    """Share of the whole error budget spent within `long_window` (e.g. `0.02`), scaled to the journey's `window` as a burn rate."""
    action: RoutingAction
    """What a firing tier does to the exception: `page`, `notify` or `ticket`."""

    @model_validator(mode="after")
    def _one_threshold(self) -> RoutingTier:
        if (self.burn_rate is None) == (self.budget_fraction is None):
            raise ValueError("give exactly one of 'burn_rate' or 'budget_fraction'")
        if self.short_window >= self.long_window:
            raise ValueError("short_window must be shorter than long_window")
        return self

    def threshold(self, slo_window: timedelta) -> float:
        if self.burn_rate is not None:
            return self.burn_rate
        assert self.budget_fraction is not None
        return self.budget_fraction * (slo_window / self.long_window)


def default_routing_tiers() -> list[RoutingTier]:
    """The SRE workbook tiers (2 % / 1 h, 5 % / 6 h page; 10 % / 3 d ticket), scaled to any window."""
    h = timedelta(hours=1)
    return [
        RoutingTier(
            long_window=h, short_window=timedelta(minutes=5), budget_fraction=0.02, action="page"
        ),
        RoutingTier(
            long_window=6 * h,
            short_window=timedelta(minutes=30),
            budget_fraction=0.05,
            action="page",
        ),
        RoutingTier(long_window=72 * h, short_window=6 * h, budget_fraction=0.10, action="ticket"),
    ]


class ColumnMapping(PolicyModel):
    """Source columns for the canonical event fields; XES standard names map by default."""

    case_id: str = "case:concept:name"
    """Column holding the case id."""
    event_name: str = "concept:name"
    """Column holding the event name."""
    timestamp: str = "time:timestamp"
    """Column holding the event time."""
    actor: str = "org:resource"
    """Column holding who or what did the event."""
    lifecycle: str | None = "lifecycle:transition"
    """Column holding the XES lifecycle transition; none: no such column."""
    attributes: list[str] = Field(default_factory=list)  # extra columns to keep; empty = all
    """Further columns to keep as event attributes; empty: all other columns."""


class Journey(PolicyModel):
    name: Name
    """The journey's name, referenced by rules (e.g. `orderToShip`)."""
    description: str = ""
    """Plain words for people."""
    slis: list[SLI] = Field(min_length=1)
    """The journey's SLIs, at least one."""
    window: Duration = timedelta(days=28)
    """The SLO window every SLI's objective is judged over."""
    calendar: Name | None = None
    """Default calendar (support hours) for the journey's rules and routing."""
    timezone: str | None = None
    """IANA zone (e.g. `Europe/Amsterdam`) of log timestamps written without an offset; `--assume-timezone` overrides it. Unset: such rows are quarantined, and a log with only such rows is refused. Timestamps with an offset keep it."""
    events: list[str] | None = None  # declared event names; others are quarantined
    """The declared event names. Rules, SLIs and outcomes may only name these; log rows with another event name are quarantined. Unset: any name."""
    completing_events: list[str] = Field(default_factory=list)  # a case is done (lead time)
    """A case is complete at its first of these events: the end of its lead time, and the deadline of a conformance `response` without `within`."""
    routing: list[RoutingTier] = Field(default_factory=default_routing_tiers)
    """Burn-rate tiers deciding page / notify / ticket; default: the SRE workbook tiers (see below)."""
    min_volume: int = Field(default=20, ge=0)  # below this many valid cases, burn rates don't page
    """Below this many valid cases in a window, burn rates do not page."""
    columns: ColumnMapping = Field(default_factory=ColumnMapping)
    """Which log columns hold the case id, event name, time and actor."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        return None if v is None else known_zone(v)
