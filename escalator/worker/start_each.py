"""Start one workflow per item when the worker starts, beside it, retrying the ones
Temporal did not take until every one has started (used for the heartbeat monitors and
the hand-off workflows). Never stops the worker: a failure is a WARNING and a retry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

__all__ = ["RETRY_EVERY", "start_each_until_started"]

RETRY_EVERY = 30.0  # seconds between tries while Temporal is unreachable

Item = TypeVar("Item")


async def start_each_until_started(
    items: Sequence[Item],
    start: Callable[[Item], Awaitable[None]],
    not_yet: Callable[[Item, Exception], None],
    *,
    retry_every: float = RETRY_EVERY,
) -> None:
    """``start`` every item; those that fail (``not_yet`` logs why) again after
    ``retry_every`` seconds, until none is left."""
    pending = list(items)
    while pending:
        failed = []
        for item in pending:
            try:
                await start(item)
            except Exception as err:  # Temporal down: try again, never stop the worker
                not_yet(item, err)
                failed.append(item)
        if failed:
            await asyncio.sleep(retry_every)
        pending = failed
