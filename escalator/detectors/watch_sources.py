"""Which journeys detection on Temporal watches, and where: the ``ESCALATOR_DETECT_*`` settings.

Each setting holds one value for every journey, per-journey ``journey=value`` entries,
or both, separated by commas (``1m,orderToShip=30s``: every 30 s for orderToShip, every
minute for the rest). An entry is per journey when what comes before its first ``=``
is a name; a URL (``postgresql+psycopg://…?sslmode=require``) has a ``:`` first, so it
is a value (percent-encode a comma inside a URL: ``%2C``).

The journeys watched are those with a table: every journey of the policies when
``ESCALATOR_DETECT_TABLE`` has a value for all, else the journeys it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from escalator.errors import InputError
from escalator.policies.duration import parse_duration
from escalator.policies.policy_set import PolicySet
from escalator.settings import Settings

__all__ = ["DetectSettingsError", "WatchSource", "watch_sources"]

_NAMED = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*=(.*)$")
SHORTEST = timedelta(seconds=1)
SHORTEST_LEASE = timedelta(seconds=5)


class DetectSettingsError(InputError, ValueError):
    """An ``ESCALATOR_DETECT_*`` setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class WatchSource:
    journey: str
    url: str
    table: str
    id_column: str
    every: timedelta
    # One run's time limit and its lease on the watch state (ESCALATOR_DETECT_LEASE).
    lease: timedelta = timedelta(minutes=5)

    @property
    def key(self) -> str:
        """The journey's watch state in the records (a table read for two journeys keeps two)."""
        return f"{self.journey}:{self.table}"


def _entries(variable: str, raw: str, journeys: set[str]) -> tuple[str | None, dict[str, str]]:
    default: str | None = None
    named: dict[str, str] = {}
    for i, entry in enumerate(e.strip() for e in raw.split(",")):
        if not entry:
            continue
        m = _NAMED.match(entry)
        if m is None:
            if default is not None:
                raise DetectSettingsError(
                    f"{variable} entry {i + 1} is a second value for every journey; "
                    "write one value and journey=value entries, e.g. '1m,orderToShip=30s'"
                )
            default = entry
            continue
        name, value = m.group(1), m.group(2).strip()
        if name not in journeys:
            raise DetectSettingsError(
                f"{variable} entry {i + 1} names journey {name!r}, which the policies do "
                f"not have (journeys: {', '.join(sorted(journeys)) or 'none'})"
            )
        if not value:
            raise DetectSettingsError(f"{variable} entry {i + 1} ({name}=) has no value")
        named[name] = value
    return default, named


def watch_sources(settings: Settings, policies: PolicySet) -> dict[str, WatchSource]:
    """The watched journeys by name (empty when ESCALATOR_DETECT_TABLE is unset)."""
    if not (settings.detect_table or "").strip():
        return {}
    journeys = {j.name for j in policies.journeys}
    table_all, tables = _entries("ESCALATOR_DETECT_TABLE", settings.detect_table or "", journeys)
    raw_source = settings.detect_source.get_secret_value() if settings.detect_source else ""
    source_all, sources = _entries("ESCALATOR_DETECT_SOURCE", raw_source, journeys)
    every_all, everies = _entries("ESCALATOR_DETECT_EVERY", settings.detect_every, journeys)
    watched = sorted(journeys) if table_all else sorted(tables)
    try:
        lease = parse_duration(settings.detect_lease)
    except ValueError as exc:
        raise DetectSettingsError(f"ESCALATOR_DETECT_LEASE: {exc}") from None
    if lease < SHORTEST_LEASE:
        raise DetectSettingsError(
            f"ESCALATOR_DETECT_LEASE is {settings.detect_lease}; the shortest is 5s"
        )
    found = {}
    for journey in watched:
        url = sources.get(journey, source_all)
        if not url:
            raise DetectSettingsError(
                f"ESCALATOR_DETECT_SOURCE has no URL for journey {journey!r}, which "
                "ESCALATOR_DETECT_TABLE watches; set one URL for all, or "
                f"{journey}=<SQLAlchemy URL>"
            )
        text = everies.get(journey, every_all or "1m")
        try:
            every = parse_duration(text)
        except ValueError as exc:
            raise DetectSettingsError(f"ESCALATOR_DETECT_EVERY for {journey}: {exc}") from None
        if every < SHORTEST:
            raise DetectSettingsError(
                f"ESCALATOR_DETECT_EVERY for {journey} is {text}; the shortest is 1s"
            )
        table = tables.get(journey, table_all)
        assert table is not None  # watched journeys have one
        found[journey] = WatchSource(journey, url, table, settings.detect_id_column, every, lease)
    return found
