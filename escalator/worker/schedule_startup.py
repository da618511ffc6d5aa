"""Install escalator's schedules in the background when the worker starts, retrying.

Beside the worker, never in its way: escalations matter more than a digest or a
detection schedule, so a Temporal that refuses schedules does not stop the worker
from polling. What happens when the install fails:

- the policies do not load, a setting is unusable, or the server has no schedules (the time-skipping
  test server answers UNIMPLEMENTED): one ERROR line, no retry (retrying cannot
  help; the install command shows the same error on demand);
- anything else (Temporal unreachable, a timeout): a WARNING per attempt with the
  error and the next try, retried with backoff from 2 s up to 5 minutes until it
  succeeds or the worker stops. Loud in the log, but no crash loop.

Used for the digest schedules (`digest_startup.py`) and the detection schedules
(`detection_schedules.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from temporalio.service import RPCError, RPCStatusCode

from escalator.errors import InputError
from escalator.policies.errors import PolicyError
from escalator.policies.policy_set import PolicySet

__all__ = ["FIRST_RETRY", "LAST_RETRY", "Installing", "install_until_done"]

FIRST_RETRY = 2.0  # seconds
LAST_RETRY = 300.0


class Described(Protocol):
    def describe(self) -> str: ...


Done = TypeVar("Done", bound=Described)


@dataclass(frozen=True)
class Installing:
    """What is installed, in the words of its log lines."""

    what: str  # "digest schedules"
    each: str  # the word before each installed item's description: "digest"
    without: str  # what a server without schedules means: "digests will not be posted"
    log: logging.Logger


async def install_until_done(
    installing: Installing,
    install: Callable[[PolicySet], Awaitable[Sequence[Done]]],
    load_policies: Callable[[], PolicySet],
    *,
    first_retry: float = FIRST_RETRY,
) -> list[Done] | None:
    """Run ``install`` until it succeeds; None when it gave up (logged why)."""
    log, what = installing.log, installing.what
    delay, attempt = first_retry, 1
    while True:
        try:
            done = list(await install(load_policies()))
        except PolicyError as err:
            log.error("%s not installed: the policies do not load:\n%s", what, err)
            return None
        except InputError as err:  # a setting the install needs is unusable
            log.error("%s not installed: %s", what, err)
            return None
        except Exception as err:  # any other failure: Temporal unreachable, a timeout, a bug
            if isinstance(err, RPCError) and err.status == RPCStatusCode.UNIMPLEMENTED:
                log.error(
                    "%s not installed: this Temporal server has no schedules (%s); %s",
                    what,
                    err,
                    installing.without,
                )
                return None
            log.warning(
                "%s not installed (attempt %d): %s; retrying in %.0f s",
                what,
                attempt,
                err,
                delay,
                exc_info=attempt == 1,  # the traceback once, not every few minutes
            )
        else:
            for d in done:
                log.info("%s %s", installing.each, d.describe())
            return done
        await asyncio.sleep(delay)
        delay, attempt = min(delay * 2, LAST_RETRY), attempt + 1
