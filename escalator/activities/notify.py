"""The delivery activities: one notification to one target (``deliver``), and the older
batch ``notify`` that histories recorded before per-target delivery still call.

``deliver`` is what an escalation level starts once per target, in the
background (``escalator/workflows/delivery.py``):
- it heartbeats every second while the provider works, so a crashed worker's
  delivery is retried within the heartbeat timeout instead of a whole
  start-to-close timeout;
- a retryable failure (timeout, 429, 5xx, dropped connection) raises, and
  Temporal retries it -- the one retry layer -- after the provider's
  Retry-After when it sent one; a permanent refusal returns ``ok=False``;
- every attempt is recorded in ``notifications`` (sent / retrying / failed,
  attempts, first and last attempt). A records outage does not stop the
  delivery: the row is written by the workflow's records later.

Channels without a configured sender (no Slack token, no Twilio account) fall
back to the console sender, so a page is never silently dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from escalator.activities.channels import ChannelSender, ConsoleSender
from escalator.activities.records import Recorder
from escalator.workflows.activity_contracts import (
    ACTIVITY_DELIVER,
    ACTIVITY_NOTIFY,
    Delivery,
    Notification,
    NotifyRequest,
    NotifyResult,
)

__all__ = ["HEARTBEAT_EVERY", "NotifyActivities"]

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 1.0  # seconds; the workflow's heartbeat timeout is a few times this


def last_attempt(info: activity.Info) -> bool:
    """Temporal will not retry this attempt: the workflow's retry policy, as the server
    handed it to this activity, allows no more. Never when the policy sets no maximum, or
    when the server sends none (the time-skipping test server does not): then Temporal
    decides, and it retries."""
    policy = info.retry_policy
    return policy is not None and 0 < policy.maximum_attempts <= info.attempt


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat in the background while the body waits on a provider."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class NotifyActivities:
    def __init__(
        self,
        senders: Mapping[str, ChannelSender],
        recorder: Recorder,
        fallback: ChannelSender | None = None,
    ) -> None:
        self.senders = dict(senders)  # channel name (slack, slack_dm, sms, ...) -> sender
        self.fallback = fallback or ConsoleSender()
        self.recorder = recorder

    def sender_for(self, channel: str) -> ChannelSender:
        return self.senders.get(channel) or self.fallback

    async def _deliver(self, message: Notification) -> Delivery:
        sender = self.sender_for(message.channel)
        try:
            if message.replaces:
                return await sender.update(message, message.replaces)
            return await sender.send(message)
        except Exception as err:  # a sender bug must not hide the other targets' pages
            log.exception("sender %s failed on %s", message.channel, message.idempotency_key)
            return Delivery(
                ok=False,
                channel=message.channel,
                target=message.target,
                error=f"{type(err).__name__}: {err}",
                retryable=True,
            )

    async def _record(self, message: Notification, delivery: Delivery, attempt: int) -> None:
        status = "sent" if delivery.ok else "retrying" if delivery.retryable else "failed"
        try:
            await self.recorder.record_notification(message, delivery, status, attempt)
        except Exception as err:  # the workflow's records write it later
            log.warning("notification %s not recorded: %s", message.idempotency_key, err)

    @activity.defn(name=ACTIVITY_DELIVER)
    async def deliver(self, message: Notification) -> Delivery:
        info = activity.info()
        message = message.model_copy(
            update={"attempt": info.attempt, "scheduled_at": info.scheduled_time}
        )
        async with heartbeating():
            delivery = await self._deliver(message)
            delivery = delivery.model_copy(update={"attempts": info.attempt})
            await self._record(message, delivery, info.attempt)
        if not delivery.ok and delivery.retryable:
            wait = delivery.retry_after
            raise ApplicationError(
                f"{message.channel}:{message.target}: {delivery.error}",
                type="DeliveryRetry",
                next_retry_delay=timedelta(seconds=wait) if wait else None,
            )
        return delivery

    @activity.defn(name=ACTIVITY_NOTIFY)
    async def notify(self, inp: NotifyRequest) -> NotifyResult:
        """A level's targets one after another (kept for histories before per-target)."""
        info = activity.info()
        deliveries = []
        for message in inp.notifications:
            message = message.model_copy(
                update={"attempt": info.attempt, "scheduled_at": info.scheduled_time}
            )
            delivery = await self._deliver(message)
            await self._record(message, delivery, info.attempt)
            deliveries.append(delivery)
        retry = [d for d in deliveries if not d.ok and d.retryable]
        if retry and not last_attempt(info):  # the last attempt's result is the workflow's
            raise ApplicationError(
                "; ".join(f"{d.channel}:{d.target}: {d.error}" for d in retry),
                type="DeliveryFailed",
            )
        return NotifyResult(deliveries=deliveries)
