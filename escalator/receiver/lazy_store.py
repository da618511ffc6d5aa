"""A store of the records database for the receiver, opened at its first use (the receiver
must start even while the database is unreachable), tried again after a failed open, and
then shared by everything that asks for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import sqlalchemy as sa

from escalator.records.store import Store
from escalator.settings import Settings

__all__ = ["lazy_records_store"]

S = TypeVar("S")


def lazy_records_store(
    settings: Settings, wrap: Callable[[sa.Engine], S]
) -> Callable[[], Awaitable[S]]:
    """An opener of ``wrap(engine)`` over the records database the settings name."""
    opened: list[S] = []

    async def store() -> S:
        if not opened:
            records = await asyncio.to_thread(Store.open, settings.resolved_database_url)
            opened.append(wrap(records.engine))
        return opened[0]

    return store
