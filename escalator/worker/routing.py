"""The routing decision the worker runs with, from the settings.

``ESCALATOR_ROUTING=budget`` (the default) wires the real `Router`: burn rates
from the journeys' event logs (``ESCALATOR_ROUTING_LOGS``, re-read when a file
changes), silences and the role page volume from the records database, support
hours from the policy's calendar. ``page`` opts out: every exception that no
silence holds pages, as before routing.

A routing log is admitted as `detect` admits it (no events, or more than 1 % of its rows
quarantined, is refused). A log that is missing, unreadable or refused is one ERROR line
in the worker's log, naming the file and what is wrong, once per version of the file;
routing then has no burn rates for that journey (it pages) until the file is fixed.

With ``ESCALATOR_ROUTING_REPLAY_SPEED`` (a replay, as in the demo) a detection may carry
its moment in the log as the ``log_time`` attribute, its onset being on the replay's
clock; routing judges burn rates and support hours at the log time (`at_log_time`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from escalator.activities.routing import (
    Decide,
    LogBurnRates,
    Router,
    SqlSilences,
    StorePageVolume,
    always_page,
)
from escalator.analytics.slo import TierEvaluation
from escalator.detectors.log_checks import admit
from escalator.detectors.log_errors import LogFormatError
from escalator.detectors.readers import read_log
from escalator.policies.errors import PolicyError
from escalator.policies.journeys import Journey
from escalator.records.silences import SilenceStore
from escalator.records.store import Store
from escalator.settings import Settings
from escalator.workflows.activity_contracts import RoutingDecision, RoutingInput

log = logging.getLogger(__name__)

LOG_TIME = "log_time"  # a replayed detection's moment in its log (an ISO 8601 attribute)

__all__ = [
    "LOG_TIME",
    "AdmittedBurnRates",
    "CachedLog",
    "at_log_time",
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
    """A journey's event log, read (and admitted) again only when the file changes."""

    path: Path
    journey: Journey
    _mtime: float | None = None
    _frame: pl.DataFrame | None = field(default=None, repr=False)
    _problem: str | None = None

    def read(self) -> pl.DataFrame | None:
        """The log's events; None while the file is missing, unreadable or refused."""
        try:
            mtime = self.path.stat().st_mtime
        except OSError as err:
            self._refuse(None, f"{self.path}: cannot be read ({err.strerror or err})")
            return None
        if mtime == self._mtime:
            return self._frame
        try:
            read = read_log(self.path, self.journey)
            admit(read, journey=self.journey)
        except LogFormatError as err:
            self._refuse(mtime, self._one_line(str(err)))
            return None
        except OSError as err:
            self._refuse(mtime, f"{self.path}: cannot be read ({err.strerror or err})")
            return None
        self._frame, self._mtime, self._problem = read.events, mtime, None
        return self._frame

    def _refuse(self, mtime: float | None, problem: str) -> None:
        if problem != self._problem or mtime != self._mtime:  # once per version of the file
            log.error(
                "ESCALATOR_ROUTING_LOGS: the log of %s is refused, so routing has no burn "
                "rates for it (its exceptions page) until the file is fixed: %s",
                self.journey.name,
                problem,
            )
        self._frame, self._mtime, self._problem = None, mtime, problem

    def __call__(self) -> pl.DataFrame:
        frame = self.read()
        if frame is None:
            raise LogFormatError(self._problem or f"{self.path}: refused")
        return frame

    def _one_line(self, message: str) -> str:
        """A refusal's first line and its most frequent reason (the rest is for a terminal)."""
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        said = " ".join(lines[:2])
        return said if said.startswith(str(self.path)) else f"{self.path}: {said}"


@dataclass
class AdmittedBurnRates:
    """`LogBurnRates` over logs that were admitted: a refused log is no burn-rate source."""

    logs: dict[str, CachedLog]
    rates: LogBurnRates = field(init=False)

    def __post_init__(self) -> None:
        self.rates = LogBurnRates(self.logs)

    async def evaluations(self, journey: Journey, as_of: datetime) -> list[TierEvaluation] | None:
        cached = self.logs.get(journey.name)
        if cached is None or await asyncio.to_thread(cached.read) is None:
            return None
        return await self.rates.evaluations(journey, as_of)


def configured_logs(settings: Settings) -> dict[str, CachedLog]:
    """Each journey of ESCALATOR_ROUTING_LOGS with a reader of its event log."""
    from escalator.policy_source import load_configured_policies

    logs: dict[str, CachedLog] = {}
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
    router = Router(
        burn_rates=AdmittedBurnRates(logs) if logs else None,
        silences=silences,
        volume=StorePageVolume(store.engine),
        max_pages_per_hour=settings.max_pages_per_hour,
        replay_speed=settings.routing_replay_speed,
    )
    return at_log_time(router) if settings.routing_replay_speed else router


def at_log_time(decide: Decide) -> Decide:
    """A replayed detection routed at its moment in the log (its ``log_time`` attribute).

    The replay raises the detection with its onset on the replay's clock, which the
    workflow's detection, acknowledgements and resolution share; the router of a replay
    judges burn rates and support hours at the detection's onset, so it is handed the
    detection with its log time as onset. A detection without the attribute is routed
    as it is.
    """

    async def decide_at_log_time(inp: RoutingInput) -> RoutingDecision:
        stamp = inp.detection.attributes.get(LOG_TIME)
        if stamp:
            try:
                at = datetime.fromisoformat(stamp)
            except ValueError:
                log.warning(
                    "%s: %s=%r is not ISO 8601; routed at its onset",
                    inp.exception_id,
                    LOG_TIME,
                    stamp,
                )
            else:
                at = at if at.tzinfo else at.replace(tzinfo=UTC)
                d = inp.detection.model_copy(update={"onset": at, "detected_at": None})
                inp = inp.model_copy(update={"detection": d})
        return await decide(inp)

    return decide_at_log_time


def page_unless_silenced(router: Router) -> Decide:
    """``ESCALATOR_ROUTING=page``: every exception pages, but a silence still holds what it
    matches (an operator who created one must not be paged through it)."""

    async def decide(inp: RoutingInput) -> RoutingDecision:
        decision = await router(inp)
        if decision.action == "suppress":
            return decision
        return await always_page(inp)

    return decide
