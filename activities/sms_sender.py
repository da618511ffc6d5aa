"""The SMS channel (and the voice call for top severity), through Twilio.

A text carries a per-exception reply code ("Reply ACK 4821 or RES 4821"),
recorded in the delivery ledger so the receiver can map a reply back.
The idempotency key is recorded ``pending`` before the request and ``sent``
with Twilio's sid right after, so a retried activity does not text twice.
Twilio cannot find a message by our key, so a ``pending`` record (the worker
died while Twilio answered) is sent again: for a page, a rare duplicate text
is better than a lost one.

Errors: 4xx other than 429 (21211 invalid number, 20003 bad credentials,
21610 unsubscribed, ...) are permanent: recorded, reported non-retryable,
and the workflow falls back. 429/5xx are retried by the http client first,
then reported retryable.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from activities.channels import Delivery, Notification
from activities.delivery_ledger import DeliveryLedger, DeliveryRecord
from activities.sms_codes import assign_code, sms_text

__all__ = ["SmsSender"]

log = logging.getLogger(__name__)


class SmsSender:
    name = "sms"

    def __init__(self, client: Client, ledger: DeliveryLedger, from_number: str) -> None:
        self.client = client
        self.ledger = ledger
        self.from_number = from_number

    async def send(self, message: Notification) -> Delivery:
        known = self.ledger.find(message.idempotency_key)
        if known is not None and known.state == "sent":
            return _ok(message, known.provider_message_id)
        if known is not None and known.state == "failed":
            return _failed(message, known.error or "failed earlier", retryable=False)
        now = datetime.now(UTC)
        code = assign_code(message.exception_id, self.ledger, now)
        text = sms_text(message.status, now, code)
        self.ledger.record(self._record(message, reply_code=code))
        try:
            if message.channel == "voice":
                created: Any = await self.client.calls.create_async(
                    to=message.target, from_=self.from_number, twiml=_voice_twiml(text)
                )
            else:
                created = await self.client.messages.create_async(
                    to=message.target, from_=self.from_number, body=text
                )
        except TwilioRestException as exc:
            permanent = 400 <= exc.status < 500 and exc.status != 429
            reason = f"Twilio refused {message.channel} to {message.target}: {exc.code} {exc.msg}"
            if permanent:
                self.ledger.record(self._record(message, state="failed", error=reason))
            log.warning("%s (%s)", reason, "permanent" if permanent else "will retry")
            return _failed(message, reason, retryable=not permanent)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return _failed(message, f"Twilio did not answer: {exc!r}", retryable=True)
        sid = str(created.sid)
        self.ledger.record(
            self._record(message, state="sent", provider_message_id=sid, reply_code=code)
        )
        return _ok(message, sid)

    async def update(self, message: Notification, provider_message_id: str) -> Delivery:
        """A text cannot be edited; a page per state change would be noise, so none is sent."""
        log.info("sms: no update texted for %s (%s)", message.exception_id, message.reason)
        return _ok(message, provider_message_id)

    @staticmethod
    def _record(message: Notification, **fields: Any) -> DeliveryRecord:
        return DeliveryRecord(
            idempotency_key=message.idempotency_key,
            exception_id=message.exception_id,
            channel=message.channel,
            destination=message.target,
        ).model_copy(update=fields)


def _voice_twiml(text: str) -> str:
    spoken = text.replace("Reply", "Reply by text message with")
    return f"<Response><Say>Escalator. {escape(spoken)}</Say></Response>"


def _ok(message: Notification, sid: str | None) -> Delivery:
    return Delivery(
        ok=True, channel=message.channel, target=message.target, provider_message_id=sid
    )


def _failed(message: Notification, error: str, *, retryable: bool) -> Delivery:
    return Delivery(
        ok=False, channel=message.channel, target=message.target, error=error, retryable=retryable
    )
