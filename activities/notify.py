"""The notify activity: dispatches each notification to the sender of its channel.

Channels without a configured sender (no Slack token, no Twilio account) fall
back to the console sender, so a page is never silently dropped. Every
delivery is recorded. When a delivery failed but may succeed later (rate
limit, 5xx), the activity raises after trying everything else, so Temporal
retries it; senders are idempotent on the key, so delivered messages are not
sent twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import ChannelSender, ConsoleSender
from activities.records import Recorder
from workflows.activity_contracts import (
    ACTIVITY_NOTIFY,
    Delivery,
    Notification,
    NotifyRequest,
    NotifyResult,
)

__all__ = ["NotifyActivities"]


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
            return Delivery(
                ok=False,
                channel=message.channel,
                target=message.target,
                error=f"{type(err).__name__}: {err}",
                retryable=True,
            )

    @activity.defn(name=ACTIVITY_NOTIFY)
    async def notify(self, inp: NotifyRequest) -> NotifyResult:
        deliveries = []
        for message in inp.notifications:
            delivery = await self._deliver(message)
            await self.recorder.record_notification(message, delivery)
            deliveries.append(delivery)
        retry = [d for d in deliveries if not d.ok and d.retryable]
        info = activity.info()
        if retry and info.attempt < 5:  # leave the last attempt's result to the workflow
            raise ApplicationError(
                "; ".join(f"{d.channel}:{d.target}: {d.error}" for d in retry),
                type="DeliveryFailed",
            )
        return NotifyResult(deliveries=deliveries)
