"""The records' overrides and vacations for the receiver, opened at the first use: the
receiver must start (and answer /healthz) even while the records database is
unreachable. One opener serves `/escalator cover`, "Take this shift" and the iCal
feeds, so they share one engine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from escalator.receiver.lazy_store import lazy_records_store
from escalator.records.oncall import OnCallStore
from escalator.settings import Settings

__all__ = ["OnCallOpener", "lazy_oncall_store"]

OnCallOpener = Callable[[], Awaitable[OnCallStore]]


def lazy_oncall_store(settings: Settings) -> OnCallOpener:
    return lazy_records_store(settings, OnCallStore)
