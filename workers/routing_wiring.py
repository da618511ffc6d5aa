"""The routing decision the worker runs with, from the settings.

``ESCALATOR_ROUTING=budget`` (the default) wires the real `Router`: burn rates
from the journeys' event logs (``ESCALATOR_ROUTING_LOGS``, re-read when a file
changes), silences and the role page volume from the records database, support
hours from the policy's calendar. ``page`` opts out: every exception that no
silence holds pages, as before routing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from activities.routing import (
    Decide,
    LogBurnRates,
    Router,
    SqlSilences,
    StorePageVolume,
    always_page,
)
from detectors.readers import read_log
from policies.errors import PolicyError
from policies.journeys import Journey
from records.silences import SilenceStore
from records.store import Store
from workers.settings import Settings
from workflows.activity_contracts import RoutingDecision, RoutingInput

log = logging.getLogger(__name__)

__all__ = [
    "CachedLog",
    "configured_logs",
    "page_unless_silenced",
    "parse_routing_logs",
    "routing_decide",
]


def parse_routing_logs(text: str | None) -> dict[str, Path]:
    """``"orderToShip=a.csv,ticketToResolution=b.jsonl"`` as ``{journey: path}``."""
    out: dict[str, Path] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        journey, sep, path = item.partition("=")
        if not sep or not journey.strip() or not path.strip():
            raise ValueError(
                f"ESCALATOR_ROUTING_LOGS: {item!r} is not JOURNEY=PATH "
                "(e.g. orderToShip=/data/orders.csv)"
            )
        out[journey.strip()] = Path(path.strip())
    return out


@dataclass
class CachedLog:
    """A journey's event log, read again only when the file changes."""

    path: Path
    journey: Journey
    _mtime: float = -1.0
    _frame: pl.DataFrame | None = field(default=None, repr=False)

    def __call__(self) -> pl.DataFrame:
        mtime = self.path.stat().st_mtime
        if self._frame is None or mtime != self._mtime:
            self._frame = read_log(self.path, self.journey).events
            self._mtime = mtime
        return self._frame


def configured_logs(settings: Settings) -> dict[str, Callable[[], pl.DataFrame]]:
    """Each journey of ESCALATOR_ROUTING_LOGS with a reader of its event log."""
    from workers.policy_source import load_configured_policies

    logs: dict[str, Callable[[], pl.DataFrame]] = {}
    configured = parse_routing_logs(settings.routing_logs)
    if configured:
        try:
            policies = load_configured_policies(settings)
        except PolicyError as err:
            # The logs are read with their journeys' column mappings. Without them there
            # is no burn rate, which routing treats as a missing fact (it pages), and the
            # worker keeps running the exceptions it has: say so loudly, do not crash.
            log.error(
                "ESCALATOR_ROUTING_LOGS ignored: the policies in %s do not load "
                "(no burn rates, so exceptions page):\n%s",
                settings.policy_dir,
                err,
            )
            return logs
        for name, path in configured.items():
            logs[name] = CachedLog(path, policies.journey(name))
    return logs


def routing_decide(settings: Settings, store: Store) -> Decide:
    silences = SqlSilences(SilenceStore(store.engine))
    if settings.routing == "page":
        return page_unless_silenced(Router(silences=silences))

    logs = configured_logs(settings)
    return Router(
        burn_rates=LogBurnRates(logs) if logs else None,
        silences=silences,
        volume=StorePageVolume(store.engine),
        max_pages_per_hour=settings.max_pages_per_hour,
        replay_speed=settings.routing_replay_speed,
    )


def page_unless_silenced(router: Router) -> Decide:
    """``ESCALATOR_ROUTING=page``: every exception pages, but a silence still holds what it
    matches (an operator who created one must not be paged through it)."""

    async def decide(inp: RoutingInput) -> RoutingDecision:
        decision = await router(inp)
        if decision.action == "suppress":
            return decision
        return await always_page(inp)

    return decide
