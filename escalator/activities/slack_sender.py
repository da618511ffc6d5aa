"""The Slack channel: one Block Kit message per notification, updated in place, steps in its thread.

Channels `slack` (the owner role's channel) and `slack_dm` (the member on call;
Slack opens the DM when a bot posts to a user id). The provider message id is
``"<conversation id>:<ts>"``: what `chat.update` needs, also for DMs whose
conversation id (D...) differs from the target user id.

Failures: a timeout, a dropped connection, HTTP 429 or 5xx, or one of Slack's
transient errors comes back ``retryable`` (with Retry-After when Slack sent
one) and the deliver activity raises, so Temporal retries it: Temporal is the
one retry layer. A permanent error (``PERMANENT_ERRORS``, and any error Slack
does not document as transient) comes back not retryable: the workflow goes on.

No duplicates: the idempotency key is guarded ``sent`` in the delivery ledger
with the ts right after Slack accepted. A first attempt posts without asking
the records (nothing can be there yet, and a records outage must hold no
page). A retry with no ``sent`` guard -- the worker died while Slack was
answering, or the guard could not be written -- first looks for the key in the message metadata of
the conversation (the channel id, found by name with ``conversations.list``
when the target is a name; the DM opened with ``conversations.open`` when the
target is a user) and posts only when Slack really has no such message.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from escalator.activities.channels import Delivery, Notification
from escalator.activities.delivery_ledger import (
    DeliveryLedger,
    DeliveryRecord,
    guard_find,
    guard_for_exception,
    guard_record,
)
from escalator.activities.slack_blocks import change_text, fallback_text, render_message, step_text
from escalator.activities.slack_client import PERMANENT_ERRORS, TRANSIENT_ERRORS, retry_after
from escalator.activities.slack_context import ContextSource, no_context
from escalator.errors import DeliveryError

__all__ = ["METADATA_EVENT", "SlackSender", "split_message_id"]

log = logging.getLogger(__name__)
METADATA_EVENT = "escalator_notification"
HISTORY_PAGES = 5  # x 200 messages searched for a lost answer's message
UNANSWERED = (TimeoutError, asyncio.TimeoutError, aiohttp.ClientError)


class _LookupFailed(DeliveryError):
    """Slack could not be asked whether it holds the message: try again later, do not post."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


def split_message_id(provider_message_id: str) -> tuple[str, str]:
    channel, sep, ts = provider_message_id.partition(":")
    if not sep or not channel or not ts:
        raise ValueError(f"not a Slack message id (channel:ts): {provider_message_id!r}")
    return channel, ts


def _is_conversation_id(target: str) -> bool:
    return re.fullmatch(r"[CGD][A-Z0-9]{2,}", target) is not None


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
        # A first attempt cannot have posted before: it asks nothing of the records, so a
        # records outage never holds a page. A retry reads the guard, then asks Slack.
        known = None
        if message.attempt > 1:
            known = await guard_find(self.ledger, message.idempotency_key)
        if known is not None and known.state == "sent":
            return self._delivery(message, known.provider_message_id)
        if message.replaces:
            return await self.update(message, message.replaces)
        if message.attempt > 1:  # Slack may hold the message already
            try:
                found = await self._find_posted(message, known)
            except _LookupFailed as exc:
                return self._failed(message, str(exc), retryable=True, wait=exc.wait)
            if found:
                log.info("slack: %s was posted before (found by metadata)", message.idempotency_key)
                return await self._sent(message, *found, found=True)
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
        except UNANSWERED as exc:
            return self._failed(message, f"Slack did not answer: {exc!r}", retryable=True)
        return await self._sent(message, str(answer["channel"]), str(answer["ts"]))

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
            return self._api_failure(message, exc)
        except UNANSWERED as exc:
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
                for r in await guard_for_exception(self.ledger, message.exception_id)
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
                    await guard_record(self.ledger, root)
            return
        known = await guard_find(self.ledger, message.idempotency_key)
        if known is not None and known.state == "sent":
            return
        await self.client.chat_postMessage(
            channel=channel,
            thread_ts=ts,
            text=change_text(message.reason, message.status, ctx, _now()),
        )
        await guard_record(
            self.ledger,
            self._record(message, state="sent", provider_message_id=pid, provider_channel=channel),
        )

    async def _find_posted(
        self, message: Notification, known: DeliveryRecord | None
    ) -> tuple[str, str] | None:
        """The message a lost answer left behind, found by its idempotency key in metadata.

        None: Slack holds no such message (or there is no way to look: logged, and
        the caller posts). Raises ``_LookupFailed`` while Slack cannot be asked.
        """
        channel = await self._conversation(message, known)
        if channel is None:
            log.warning(
                "slack: cannot look up %s (no conversation for %s); posting again",
                message.idempotency_key,
                message.target,
            )
            return None
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            history = await self._ask(
                "conversations.history",
                channel=channel,
                limit=200,
                include_all_metadata=True,
                **({"cursor": cursor} if cursor else {}),
            )
            if history is None:
                return None
            for item in history.get("messages") or []:
                payload = (item.get("metadata") or {}).get("event_payload") or {}
                if payload.get("idempotency_key") == message.idempotency_key:
                    return channel, str(item["ts"])
            cursor = ((history.get("response_metadata") or {}).get("next_cursor")) or None
            if not history.get("has_more") or not cursor:
                return None
        return None

    async def _conversation(
        self, message: Notification, known: DeliveryRecord | None
    ) -> str | None:
        """conversations.history needs an id: the target itself, one Slack gave us before,
        the DM opened for a user, or the channel found by name."""
        target = message.target
        if _is_conversation_id(target):
            return target
        if known is not None and known.provider_channel:
            return known.provider_channel
        if target in self.channel_ids:
            return self.channel_ids[target]
        for record in await guard_for_exception(self.ledger, message.exception_id):
            if record.destination == target and record.provider_channel:
                return record.provider_channel
        if target[:1] in ("U", "W"):  # a DM: opening it again is idempotent and gives its id
            opened = await self._ask("conversations.open", users=target)
            return str((opened or {}).get("channel", {}).get("id") or "") or None
        return await self._channel_by_name(target.lstrip("#"))

    async def _channel_by_name(self, name: str) -> str | None:
        cursor: str | None = None
        while True:
            page = await self._ask(
                "conversations.list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                **({"cursor": cursor} if cursor else {}),
            )
            if page is None:
                return None
            for channel in page.get("channels") or []:
                if channel.get("name") == name:
                    self.channel_ids["#" + name] = self.channel_ids[name] = str(channel["id"])
                    return str(channel["id"])
            cursor = ((page.get("response_metadata") or {}).get("next_cursor")) or None
            if not cursor:
                return None

    async def _ask(self, method: str, **params: Any) -> Any:
        """A lookup call: its answer; None when Slack refuses it for good (no way to know);
        ``_LookupFailed`` when Slack is unavailable now."""
        try:
            return await self.client.api_call(method, params=params)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if _transient(exc):
                raise _LookupFailed(
                    f"Slack {method} unavailable ({error}); not posting blind",
                    retry_after(exc.response.headers),
                ) from exc
            log.warning("slack: %s refused (%s): no way to look the message up", method, error)
            return None
        except UNANSWERED as exc:
            raise _LookupFailed(f"Slack {method} did not answer: {exc!r}") from exc

    def _record(self, message: Notification, **fields: Any) -> DeliveryRecord:
        base = DeliveryRecord(
            idempotency_key=message.idempotency_key,
            exception_id=message.exception_id,
            channel=message.channel,
            destination=message.target,
            thread_seq=max((s.seq for s in message.status.timeline), default=0),
        )
        return base.model_copy(update=fields)

    async def _sent(
        self, message: Notification, channel: str, ts: str, *, found: bool = False
    ) -> Delivery:
        pid = f"{channel}:{ts}"
        if message.channel == "slack":
            self.channel_ids[message.target] = channel
        await guard_record(
            self.ledger,
            self._record(message, state="sent", provider_message_id=pid, provider_channel=channel),
        )
        return self._delivery(message, pid).model_copy(update={"found_at_provider": found})

    def _api_failure(self, message: Notification, exc: SlackApiError) -> Delivery:
        error = str(exc.response.get("error") or exc.response.status_code)
        retryable = _transient(exc)
        reason = f"Slack refused {message.channel} {message.target}: {error}"
        log.warning("%s (%s)", reason, "will retry" if retryable else "permanent")
        return self._failed(
            message, reason, retryable=retryable, wait=retry_after(exc.response.headers)
        )

    @staticmethod
    def _delivery(message: Notification, pid: str | None) -> Delivery:
        return Delivery(
            ok=True, channel=message.channel, target=message.target, provider_message_id=pid
        )

    @staticmethod
    def _failed(
        message: Notification, error: str, *, retryable: bool, wait: float | None = None
    ) -> Delivery:
        return Delivery(
            ok=False,
            channel=message.channel,
            target=message.target,
            error=error,
            retryable=retryable,
            retry_after=wait if retryable else None,
        )


def _transient(exc: SlackApiError) -> bool:
    """Worth a retry: HTTP 429 or 5xx, or an error Slack documents as transient. Anything
    else is a refusal a retry cannot fix (PERMANENT_ERRORS names the usual ones)."""
    status = int(exc.response.status_code or 0)
    error = str(exc.response.get("error") or "")
    if error in PERMANENT_ERRORS:
        return False
    return status == 429 or status >= 500 or error in TRANSIENT_ERRORS


def _now() -> datetime:
    return datetime.now(UTC)
