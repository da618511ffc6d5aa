"""The records' overrides and vacations for the receiver, opened at the first use: the
receiver must start (and answer /healthz) even while the records database is
unreachable. One opener serves `/escalator cover`, "Take this shift" and the iCal
feeds, so they share one engine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from escalator.records.oncall import OnCallStore
from escalator.records.store import Store
from escalator.settings import Settings

__all__ = ["OnCallOpener", "lazy_oncall_store"]

OnCallOpener = Callable[[], Awaitable[OnCallStore]]


def lazy_oncall_store(settings: Settings) -> OnCallOpener:
    opened: list[OnCallStore] = []

    async def store() -> OnCallStore:
        if not opened:
            records = await asyncio.to_thread(Store.open, settings.resolved_database_url)
            opened.append(OnCallStore(records.engine))
        return opened[0]

    return store
