"""The worker installs the digest schedules when it starts (`escalator.worker.digest_schedules`).

In the background, beside the worker, with the retries of
`escalator.worker.schedule_startup`. Turn it off with ``ESCALATOR_DIGEST_INSTALL=false``
(schedules managed elsewhere).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from temporalio.client import Client

from escalator.client import with_pydantic
from escalator.policies.policy_set import PolicySet
from escalator.settings import Settings
from escalator.worker.digest_schedules import InstalledDigest, install_digests
from escalator.worker.schedule_startup import (
    FIRST_RETRY,
    LAST_RETRY,
    Installing,
    install_until_done,
)

__all__ = ["FIRST_RETRY", "LAST_RETRY", "install_digests_until_done", "start_digest_install"]

log = logging.getLogger("escalator.digests")
DIGESTS = Installing("digest schedules", "digest", "digests will not be posted", log)


async def install_digests_until_done(
    client: Client,
    load_policies: Callable[[], PolicySet],
    task_queue: str,
    *,
    first_retry: float = FIRST_RETRY,
) -> list[InstalledDigest] | None:
    """Install the digest schedules; None when it gave up (logged why)."""

    async def install(policies: PolicySet) -> list[InstalledDigest]:
        return await install_digests(with_pydantic(client), policies, task_queue)

    return await install_until_done(DIGESTS, install, load_policies, first_retry=first_retry)


def start_digest_install(client: Client, settings: Settings) -> asyncio.Task[Any] | None:
    """The install as a task beside the worker; None when ESCALATOR_DIGEST_INSTALL is off."""
    if not settings.digest_install:
        log.info("digest schedules: not installed at start (ESCALATOR_DIGEST_INSTALL=false)")
        return None
    from escalator.policy_source import load_configured_policies

    return asyncio.create_task(
        install_digests_until_done(
            client, lambda: load_configured_policies(settings), settings.temporal_task_queue
        ),
        name="escalator-digest-install",
    )
