"""Start every declared heartbeat's monitor when the worker starts, beside it: a source
that never beats at all is missed ``every`` after this. A monitor that runs already is
left as it is (its last beat counts)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from temporalio.client import Client

from escalator.client import start_heartbeat
from escalator.policies.errors import PolicyError
from escalator.policy_source import load_configured_policies
from escalator.settings import Settings

__all__ = ["start_heartbeat_monitors"]

log = logging.getLogger(__name__)
RETRY_EVERY = 30.0  # seconds between tries while Temporal is unreachable


async def _start_all(client: Client, settings: Settings) -> None:
    try:
        policies = load_configured_policies(settings)
    except PolicyError as err:
        log.warning("heartbeat monitors not started: %s", err.one_line())
        return
    pending = list(policies.heartbeats)
    while pending:
        failed = []
        for heartbeat in pending:
            try:
                await start_heartbeat(
                    client, heartbeat, policies, task_queue=settings.temporal_task_queue
                )
            except Exception as err:  # Temporal down: try again, never stop the worker
                log.warning("heartbeat %s monitor not started yet: %s", heartbeat.name, err)
                failed.append(heartbeat)
        if failed:
            await asyncio.sleep(RETRY_EVERY)
        pending = failed
    if policies.heartbeats:
        log.info("heartbeat monitors: %s", ", ".join(h.name for h in policies.heartbeats))


def start_heartbeat_monitors(client: Client, settings: Settings) -> asyncio.Task[Any]:
    return asyncio.create_task(_start_all(client, settings), name="escalator-heartbeats")
