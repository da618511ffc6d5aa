"""Per-target delivery in the background: the outbox of one workflow run.

Before (histories without the ``delivery-per-target`` marker) a level's
targets went out in one activity, one after another, and the workflow waited
for it before arming the level's deadline: a Slack back-off held the SMS of
the same level, and a provider outage held the escalation. Now each target's
message is its own ``deliver`` activity, started without waiting:
- the level's deadline is armed at once, so the next level is paged on time
  even while this level's message is still being retried;
- the targets are independent; one target's messages go out in order (an
  update waits for the message it replaces, so it knows its provider id);
- the activity heartbeats (a crashed worker's delivery is retried within
  ``HEARTBEAT_TIMEOUT``) and retries until the provider accepts, refuses for
  good, or ``DELIVERY_DEADLINE`` passes.

The run waits for its outbox to drain before it ends or continues as new.
No I/O here: Temporal calls only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalator.workflows.activity_contracts import ACTIVITY_DELIVER, Delivery, Notification
    from escalator.workflows.constants import DELIVER_RETRY

__all__ = ["DELIVERY_DEADLINE", "HEARTBEAT_TIMEOUT", "Outbox"]

HEARTBEAT_TIMEOUT = timedelta(seconds=5)
ATTEMPT_TIMEOUT = timedelta(seconds=60)  # one call to the provider, lookups included
DELIVERY_DEADLINE = timedelta(hours=24)  # then the message is recorded failed

Done = Callable[[Notification, Delivery], None]


class Outbox:
    """Background deliveries of one run, chained per target key."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._running = 0
        self._started = 0
        self._latest_edit: dict[str, int] = {}  # per key: the newest supersedable message

    def idle(self) -> bool:
        return self._running == 0

    def start(
        self,
        key: str,
        make: Callable[[], Notification],
        summary: str,
        done: Done,
        *,
        supersedable: bool = False,
    ) -> None:
        """Deliver ``make()`` to the target ``key`` after its earlier messages, then call
        ``done`` with the result. ``make`` runs when it is this message's turn, so an
        in-place update sees the provider id of the message before it. A
        ``supersedable`` message (an in-place edit rendered at its turn) is dropped when
        a later one for the same key is queued behind it: that one shows the newer truth,
        and a provider back-off never piles up edits that would each be sent."""
        previous = self._tails.get(key)
        self._running += 1
        self._started += 1
        n = self._started
        if supersedable:
            self._latest_edit[key] = n

        async def run() -> None:
            try:
                if previous is not None:
                    await previous
                if supersedable and self._latest_edit.get(key) != n:
                    return
                message = make()
                try:
                    delivery = await workflow.execute_activity(
                        ACTIVITY_DELIVER,
                        message,
                        result_type=Delivery,
                        schedule_to_close_timeout=DELIVERY_DEADLINE,
                        start_to_close_timeout=ATTEMPT_TIMEOUT,
                        heartbeat_timeout=HEARTBEAT_TIMEOUT,
                        retry_policy=DELIVER_RETRY,
                        summary=summary,
                    )
                except ActivityError as err:  # the deadline passed, or a non-retryable bug
                    delivery = Delivery(
                        ok=False,
                        channel=message.channel,
                        target=message.target,
                        error=str(err.cause or err),
                    )
                done(message, delivery)
            finally:
                self._running -= 1

        self._tails[key] = asyncio.create_task(run())
