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
from escalator.policies.heartbeats import Heartbeat
from escalator.policy_source import load_configured_policies
from escalator.settings import Settings
from escalator.worker.start_each import start_each_until_started

__all__ = ["start_heartbeat_monitors"]

log = logging.getLogger(__name__)


async def _start_all(client: Client, settings: Settings) -> None:
    try:
        policies = load_configured_policies(settings)
    except PolicyError as err:
        log.warning("heartbeat monitors not started: %s", err.one_line())
        return

    async def start(heartbeat: Heartbeat) -> None:
        await start_heartbeat(client, heartbeat, policies, task_queue=settings.temporal_task_queue)

    def not_yet(heartbeat: Heartbeat, err: Exception) -> None:
        log.warning("heartbeat %s monitor not started yet: %s", heartbeat.name, err)

    await start_each_until_started(policies.heartbeats, start, not_yet)
    if policies.heartbeats:
        log.info("heartbeat monitors: %s", ", ".join(h.name for h in policies.heartbeats))


def start_heartbeat_monitors(client: Client, settings: Settings) -> asyncio.Task[Any]:
    return asyncio.create_task(_start_all(client, settings), name="escalator-heartbeats")
