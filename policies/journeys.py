"""Journeys: their SLIs, SLO window, routing tiers and how their event log is read."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from policies.base import Name, PolicyModel
from policies.duration import Duration

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
    name: Name
    valid_events: list[str] = Field(min_length=1)  # a case is valid once it has one of these
    good_events: list[str] = Field(min_length=1)
    bad_events: list[str] = Field(default_factory=list)
    objective: Percent  # e.g. 99.5 (%)


class LatencySLI(PolicyModel):
    """Share of cases going from start_event to end_event within the threshold."""

    type: Literal["latency"]
    name: Name
    start_event: str
    end_event: str
    threshold: Duration
    # Optional per-attribute thresholds, e.g. resolution SLA by severity.
    threshold_attribute: str | None = None
    thresholds: dict[str, Duration] = Field(default_factory=dict)
    objective: Percent


SLI = Annotated[AvailabilitySLI | LatencySLI, Field(discriminator="type")]


class RoutingTier(PolicyModel):
    """A multiwindow burn-rate tier: fire when BOTH windows burn faster than burn_rate.

    Give ``burn_rate`` directly, or ``budget_fraction`` (share of the whole
    error budget spent within ``long_window``), from which the burn rate is
    scaled to the journey's SLO window.
    """

    long_window: Duration
    short_window: Duration
    burn_rate: float | None = Field(default=None, gt=0)
    budget_fraction: float | None = Field(default=None, gt=0, le=1)
    action: RoutingAction

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
    event_name: str = "concept:name"
    timestamp: str = "time:timestamp"
    actor: str = "org:resource"
    lifecycle: str | None = "lifecycle:transition"
    attributes: list[str] = Field(default_factory=list)  # extra columns to keep; empty = all


class Journey(PolicyModel):
    name: Name
    description: str = ""
    slis: list[SLI] = Field(min_length=1)
    window: Duration = timedelta(days=28)
    calendar: Name | None = None
    events: list[str] | None = None  # declared event names; others are quarantined
    completing_events: list[str] = Field(default_factory=list)  # a case is done (lead time)
    routing: list[RoutingTier] = Field(default_factory=default_routing_tiers)
    min_volume: int = Field(default=20, ge=0)  # below this many valid cases, burn rates don't page
    columns: ColumnMapping = Field(default_factory=ColumnMapping)
