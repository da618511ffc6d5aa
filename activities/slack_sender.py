"""The Slack channel: one Block Kit message per notification, updated in place, steps in its thread.

Channels `slack` (the owner role's channel) and `slack_dm` (the member on call;
Slack opens the DM when a bot posts to a user id). The provider message id is
``"<conversation id>:<ts>"``: what `chat.update` needs, also for DMs whose
conversation id (D...) differs from the target user id.

No duplicates: the idempotency key is recorded in the delivery ledger as
``pending`` before posting and ``sent`` with the ts right after. A retry that
finds ``sent`` returns it; one that finds ``pending`` (the worker died while
Slack was answering) first looks for the key in the channel's message
metadata and only posts when Slack really has no such message.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activities.channels import Delivery, Notification
from activities.delivery_ledger import DeliveryLedger, DeliveryRecord
from activities.slack_blocks import change_text, fallback_text, render_message, step_text
from activities.slack_client import PERMANENT_ERRORS
from activities.slack_context import ContextSource, no_context

__all__ = ["METADATA_EVENT", "SlackSender", "split_message_id"]

log = logging.getLogger(__name__)
METADATA_EVENT = "escalator_notification"


def split_message_id(provider_message_id: str) -> tuple[str, str]:
    channel, sep, ts = provider_message_id.partition(":")
    if not sep or not channel or not ts:
        raise ValueError(f"not a Slack message id (channel:ts): {provider_message_id!r}")
    return channel, ts


class SlackSender:
    name = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        ledger: DeliveryLedger,
        context: ContextSource | None = None,
    ) -> None:
        self.client = client
        self.ledger = ledger
        # What the status does not carry: hypothesis, runbook, roles, Slack user ids.
        self.context = context or no_context
        # Channel names this worker has seen Slack resolve to ids ("#ops-inventory" -> C...):
        # conversations.history, the lost-answer lookup, takes ids only.
        self.channel_ids: dict[str, str] = {}

    # --- ChannelSender ---

    async def send(self, message: Notification) -> Delivery:
        known = self.ledger.find(message.idempotency_key)
        if known is not None and known.state == "sent":
            return self._delivery(message, known.provider_message_id)
        if known is not None and known.state == "failed":
            return self._failed(message, known.error or "failed earlier", retryable=False)
        if message.replaces:
            return await self.update(message, message.replaces)
        if known is not None:  # pending: Slack may hold the message already
            found = await self._find_posted(message)
            if found:
                return self._sent(message, *found)
        self.ledger.record(self._record(message))
        try:
            answer = await self.client.chat_postMessage(
                channel=message.target,
                text=fallback_text(message.status, _now()),
                blocks=self._blocks(message),
                metadata={
                    "event_type": METADATA_EVENT,
                    "event_payload": {
                        "idempotency_key": message.idempotency_key,
                        "exception_id": message.exception_id,
                    },
                },
                unfurl_links=False,
            )
        except SlackApiError as exc:
            return self._api_failure(message, exc)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return self._failed(message, f"Slack did not answer: {exc!r}", retryable=True)
        return self._sent(message, str(answer["channel"]), str(answer["ts"]))

    async def update(self, message: Notification, provider_message_id: str) -> Delivery:
        """Rewrite the message to the current status, then thread the steps not yet threaded."""
        try:
            channel, ts = split_message_id(provider_message_id)
        except ValueError as exc:
            return self._failed(message, str(exc), retryable=False)
        try:
            await self.client.chat_update(
                channel=channel,
                ts=ts,
                text=fallback_text(message.status, _now()),
                blocks=self._blocks(message),
            )
            await self._thread_steps(message, channel, ts)
        except SlackApiError as exc:
            return self._api_failure(message, exc, record=False)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return self._failed(message, f"Slack did not answer: {exc!r}", retryable=True)
        return self._delivery(message, provider_message_id)

    # --- internals ---

    def _blocks(self, message: Notification) -> list[dict[str, Any]]:
        return render_message(message.status, self.context(message.status), _now())

    async def _thread_steps(self, message: Notification, channel: str, ts: str) -> None:
        """Add this change to the message's thread, once.

        With a timeline in the status, every step not yet threaded is posted
        (the root record remembers the last one). Without (the workflow sends
        statuses without timeline to keep payloads small), one line per
        update notification, guarded by its idempotency key.
        """
        pid = f"{channel}:{ts}"
        ctx = self.context(message.status)
        if message.status.timeline:
            roots = [
                r
                for r in self.ledger.for_exception(message.exception_id)
                if r.provider_message_id == pid and r.state == "sent"
            ]
            root = roots[0] if roots else None
            done = root.thread_seq if root else 0
            for step in sorted(message.status.timeline, key=lambda s: s.seq):
                if step.seq <= done:
                    continue
                await self.client.chat_postMessage(
                    channel=channel, thread_ts=ts, text=step_text(step, ctx)
                )
                done = step.seq
                if root is not None:  # record each line so a retry does not repeat it
                    root = root.model_copy(update={"thread_seq": done})
                    self.ledger.record(root)
            return
        known = self.ledger.find(message.idempotency_key)
        if known is not None and known.state == "sent":
            return
        await self.client.chat_postMessage(
            channel=channel,
            thread_ts=ts,
            text=change_text(message.reason, message.status, ctx, _now()),
        )
        self.ledger.record(
            self._record(message, state="sent", provider_message_id=pid, provider_channel=channel)
        )

    async def _find_posted(self, message: Notification) -> tuple[str, str] | None:
        """The message a lost answer left behind, found by its idempotency key in metadata."""
        channel = self._known_conversation(message)
        if channel is None:
            return None  # no conversation id to search (a first post by name, a DM): post
        try:
            history = await self.client.conversations_history(
                channel=channel, limit=50, include_all_metadata=True
            )
        except (SlackApiError, TimeoutError, aiohttp.ClientError):
            return None
        for item in history.get("messages") or []:
            payload = (item.get("metadata") or {}).get("event_payload") or {}
            if payload.get("idempotency_key") == message.idempotency_key:
                return channel, str(item["ts"])
        return None

    def _known_conversation(self, message: Notification) -> str | None:
        """conversations.history needs an id: the target itself, or one Slack gave us before."""
        if message.target[:1] in ("C", "G") and message.target[1:].isalnum():
            return message.target
        if message.target in self.channel_ids:
            return self.channel_ids[message.target]
        for record in self.ledger.for_exception(message.exception_id):
            if record.destination == message.target and record.provider_channel:
                return record.provider_channel
        return None

    def _record(self, message: Notification, **fields: Any) -> DeliveryRecord:
        base = DeliveryRecord(
            idempotency_key=message.idempotency_key,
            exception_id=message.exception_id,
            channel=message.channel,
            destination=message.target,
            thread_seq=max((s.seq for s in message.status.timeline), default=0),
        )
        return base.model_copy(update=fields)

    def _sent(self, message: Notification, channel: str, ts: str) -> Delivery:
        pid = f"{channel}:{ts}"
        if message.channel == "slack":
            self.channel_ids[message.target] = channel
        self.ledger.record(
            self._record(message, state="sent", provider_message_id=pid, provider_channel=channel)
        )
        return self._delivery(message, pid)

    def _api_failure(
        self, message: Notification, exc: SlackApiError, *, record: bool = True
    ) -> Delivery:
        error = str(exc.response.get("error") or exc.response.status_code)
        permanent = error in PERMANENT_ERRORS
        reason = f"Slack refused {message.channel} {message.target}: {error}"
        if permanent and record:
            self.ledger.record(self._record(message, state="failed", error=reason))
        log.warning("%s (%s)", reason, "permanent" if permanent else "will retry")
        return self._failed(message, reason, retryable=not permanent)

    @staticmethod
    def _delivery(message: Notification, pid: str | None) -> Delivery:
        return Delivery(
            ok=True, channel=message.channel, target=message.target, provider_message_id=pid
        )

    @staticmethod
    def _failed(message: Notification, error: str, *, retryable: bool) -> Delivery:
        return Delivery(
            ok=False,
            channel=message.channel,
            target=message.target,
            error=error,
            retryable=retryable,
        )


def _now() -> datetime:
    return datetime.now(UTC)
