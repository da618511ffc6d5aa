"""The worker installs the digest schedules when it starts (`escalator.worker.digest_schedules`).

In the background, beside the worker, never in its way: escalations matter more
than a daily digest, so a Temporal that refuses schedules does not stop the
worker from polling. What happens when the install fails:

- the policies do not load, or the server has no schedules (the time-skipping
  test server answers UNIMPLEMENTED): one ERROR line, no retry (retrying cannot
  help; ``escalator digest install`` shows the same error on demand);
- anything else (Temporal unreachable, a timeout): a WARNING per attempt with the
  error and the next try, retried with backoff from 2 s up to 5 minutes until it
  succeeds or the worker stops. Loud in the log, but no crash loop.

Turn it off with ``ESCALATOR_DIGEST_INSTALL=false`` (schedules managed elsewhere).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from escalator.client import with_pydantic
from escalator.policies.errors import PolicyError
from escalator.policies.policy_set import PolicySet
from escalator.settings import Settings
from escalator.worker.digest_schedules import InstalledDigest, install_digests

__all__ = ["FIRST_RETRY", "LAST_RETRY", "install_digests_until_done", "start_digest_install"]

log = logging.getLogger("escalator.digests")

FIRST_RETRY = 2.0  # seconds
LAST_RETRY = 300.0


async def install_digests_until_done(
    client: Client,
    load_policies: Callable[[], PolicySet],
    task_queue: str,
    *,
    first_retry: float = FIRST_RETRY,
) -> list[InstalledDigest] | None:
    """Install the digest schedules; None when it gave up (logged why)."""
    delay, attempt = first_retry, 1
    while True:
        try:
            done = await install_digests(with_pydantic(client), load_policies(), task_queue)
        except PolicyError as err:
            log.error("digest schedules not installed: the policies do not load:\n%s", err)
            return None
        except Exception as err:  # any other failure: Temporal unreachable, a timeout, a bug
            if isinstance(err, RPCError) and err.status == RPCStatusCode.UNIMPLEMENTED:
                log.error(
                    "digest schedules not installed: this Temporal server has no schedules "
                    "(%s); digests will not be posted",
                    err,
                )
                return None
            log.warning(
                "digest schedules not installed (attempt %d): %s; retrying in %.0f s",
                attempt,
                err,
                delay,
                exc_info=attempt == 1,  # the traceback once, not every few minutes
            )
        else:
            for d in done:
                log.info("digest %s", d.describe())
            return done
        await asyncio.sleep(delay)
        delay, attempt = min(delay * 2, LAST_RETRY), attempt + 1


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
