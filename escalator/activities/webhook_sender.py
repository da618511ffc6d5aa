"""The outbound webhook channel: signed JSON to a tool named in the policy's ``webhooks``.

An escalation level with ``webhook:NAME`` in its channels POSTs one JSON event per
notification to the webhook's URL (ticketing, chat tools, status pages), signed with
HMAC-SHA256 over a timestamp and the body (`escalator/activities/webhook_signature.py`).

Failures: a timeout, a dropped connection, 408, 429 (with Retry-After) or a 5xx comes
back ``retryable``, and Temporal retries the deliver activity (the one retry layer);
any other answer outside 2xx is a permanent refusal, and the workflow goes on.

No duplicates where escalator can know: the idempotency key (the same key as Slack and
SMS: workflow, run, notification step, channel, target) is guarded ``sent`` in the
delivery ledger as soon as the tool answers 2xx, and a retry that finds it there does
not POST again. A retry without the guard (the answer was lost) POSTs again with the
same ``Idempotency-Key`` header: a webhook has no list escalator could look in, so the
receiving tool drops the repeat by that key (docs/integrations.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from escalator.activities.channels import (
    Delivery,
    Notification,
    delivered,
    not_delivered,
    render_text,
)
from escalator.activities.delivery_ledger import (
    DeliveryLedger,
    DeliveryRecord,
    guard_find,
    guard_record,
)
from escalator.activities.slack_client import retry_after
from escalator.activities.webhook_signature import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from escalator.policies.webhooks import Webhook

__all__ = ["EVENT_HEADER", "WebhookSender", "webhook_body", "webhook_event"]

log = logging.getLogger(__name__)
EVENT_HEADER = "Escalator-Event"
RETRYABLE_STATUS = frozenset({408, 425, 429})
UNANSWERED = (TimeoutError, asyncio.TimeoutError, aiohttp.ClientError)


def webhook_event(message: Notification) -> str:
    """What the tool is told happened: the state change an update reports (``acknowledged``,
    ``snoozed``, ``reassigned``, ``resolved``), else the notification's reason (``first``,
    ``escalated``, ...)."""
    return message.event or message.reason


def webhook_body(message: Notification) -> bytes:
    """The JSON a webhook receives: what happened, to which exception, and its status."""
    s = message.status
    event: dict[str, Any] = {
        "event": webhook_event(message),
        "reason": message.reason,
        "idempotency_key": message.idempotency_key,
        "exception_id": message.exception_id,
        "journey": s.journey,
        "rule": s.rule,
        "subject": s.subject,
        "severity": s.severity,
        "state": s.state.value,
        "level": message.level,
        "role": message.role,
        "text": render_text(message),
        "replaces": message.replaces,
        "status": s.model_dump(mode="json", exclude={"timeline"}),
    }
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


class WebhookSender:
    name = "webhook"

    def __init__(
        self,
        webhooks: Mapping[str, Webhook],
        secrets: Mapping[str, str],
        ledger: DeliveryLedger,
    ) -> None:
        self.webhooks = dict(webhooks)  # by name, from the worker's policies
        self.secrets = dict(secrets)  # by secret name, from ESCALATOR_WEBHOOK_SECRETS
        self.ledger = ledger
        self._session: aiohttp.ClientSession | None = None

    async def send(self, message: Notification) -> Delivery:
        if message.attempt > 1:  # a first attempt cannot have been delivered before
            known = await guard_find(self.ledger, message.idempotency_key)
            if known is not None and known.state == "sent":
                log.info("webhook: %s was delivered before", message.idempotency_key)
                return delivered(message, known.provider_message_id)
        hook = self.webhooks.get(message.target)
        if hook is None:
            known_names = ", ".join(sorted(self.webhooks)) or "none"
            return not_delivered(
                message,
                f"no webhook named {message.target!r} in the worker's policies "
                f"(known: {known_names}); declare it under 'webhooks:' and restart the worker",
                retryable=False,
            )
        secret = self.secrets.get(hook.secret_ref)
        if not secret:
            return not_delivered(
                message,
                f"webhook {hook.name}: no secret {hook.secret_ref!r} in "
                f"ESCALATOR_WEBHOOK_SECRETS; set '{hook.secret_ref}=<secret>' on the worker",
                retryable=False,
            )
        body = webhook_body(message)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "escalator-webhook/1",
            SIGNATURE_HEADER: signature_header(secret, body),
            IDEMPOTENCY_HEADER: message.idempotency_key,
            EVENT_HEADER: webhook_event(message),
        }
        timeout = aiohttp.ClientTimeout(total=hook.timeout.total_seconds())
        try:
            async with self._client().post(
                hook.url, data=body, headers=headers, timeout=timeout
            ) as response:
                answer = await response.read()
                status = response.status
                wait = retry_after(response.headers)
        except UNANSWERED as exc:
            return not_delivered(
                message, f"webhook {hook.name} did not answer: {exc!r}", retryable=True
            )
        if 200 <= status < 300:
            provider_id = _answer_id(answer) or _key_id(message.idempotency_key)
            await guard_record(
                self.ledger,
                DeliveryRecord(
                    idempotency_key=message.idempotency_key,
                    exception_id=message.exception_id,
                    channel=message.channel,
                    destination=message.target,
                    state="sent",
                    provider_message_id=provider_id,
                ),
            )
            return delivered(message, provider_id)
        retryable = status in RETRYABLE_STATUS or status >= 500
        reason = f"webhook {hook.name} answered HTTP {status}: {_snippet(answer)}"
        log.warning("%s (%s)", reason, "will retry" if retryable else "permanent")
        return not_delivered(message, reason, retryable=retryable, wait=wait)

    async def update(self, message: Notification, provider_message_id: str) -> Delivery:
        """A webhook cannot be edited: the change goes out as a new event whose
        ``replaces`` names the earlier one (the body carries it)."""
        return await self.send(message.model_copy(update={"replaces": provider_message_id}))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _answer_id(answer: bytes) -> str | None:
    """The tool's own id for what it made (a ticket number), when it answers JSON with one."""
    try:
        data = json.loads(answer)
    except ValueError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return str(found)[:200] if isinstance(found, str | int) and found != "" else None


def _key_id(key: str) -> str:
    """A short id for a delivery the tool answered without one (keys may be long)."""
    return "wh-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _snippet(answer: bytes) -> str:
    text = answer.decode("utf-8", "replace").strip().splitlines()
    return (text[0][:200] if text else "") or "(empty body)"
