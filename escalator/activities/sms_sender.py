"""The SMS channel (and the voice call for top severity), through Twilio.

A text carries a per-exception reply code ("Reply ACK 4821 or RES 4821"),
recorded in the delivery ledger so the receiver can map a reply back.

Failures: 429 (with Retry-After), 5xx, a timeout or a dropped connection come
back ``retryable`` and Temporal retries the deliver activity (the one retry
layer). Other 4xx (21211 invalid number, 20003 bad credentials, 21610
unsubscribed, ...) are permanent: reported non-retryable, the workflow goes on.

No duplicates: the idempotency key is guarded with the reply code before the
text goes out (so a quick reply maps back) and ``sent`` with Twilio's sid right
after Twilio accepted; the records are read only for the reply code, and every
records call is bounded by ``GUARD_TIMEOUT``. A retry without a ``sent`` guard
asks Twilio's message list (to, from, sent since the delivery was first
scheduled) for the same body -- the body is fixed per delivery: its age is
counted to the first scheduling, not to the attempt -- and texts only when
Twilio has none. A voice call has nothing to match on: a call whose answer
was lost is placed again (a duplicate call beats a lost page; docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from escalator.activities.channels import Delivery, Notification, delivered, not_delivered
from escalator.activities.delivery_ledger import (
    GUARD_TIMEOUT,
    DeliveryLedger,
    DeliveryRecord,
    guard_find,
    guard_record,
)
from escalator.activities.sms_codes import assign_code, reply_code, sms_text
from escalator.activities.sms_twilio import TwilioUnavailable

__all__ = ["SmsSender"]

log = logging.getLogger(__name__)
UNANSWERED = (TimeoutError, asyncio.TimeoutError, aiohttp.ClientError)
CLOCK_SKEW = timedelta(seconds=60)  # Twilio's clock against ours, when matching by date


class SmsSender:
    name = "sms"

    def __init__(self, client: Client, ledger: DeliveryLedger, from_number: str) -> None:
        self.client = client
        self.ledger = ledger
        self.from_number = from_number

    async def send(self, message: Notification) -> Delivery:
        # A first attempt cannot have texted before: the records are asked only for the
        # reply code (bounded). A retry reads the guard, then Twilio's list.
        known = None
        if message.attempt > 1:
            known = await guard_find(self.ledger, message.idempotency_key)
        if known is not None and known.state == "sent":
            return delivered(message, known.provider_message_id)
        first = message.scheduled_at or datetime.now(UTC)
        code = (known.reply_code if known else None) or await self._code(message, first)
        text = sms_text(message.status, first, code)
        if message.channel == "sms" and message.attempt > 1:
            try:
                sid = await self._find_sent(message, text, first)
            except (TwilioUnavailable, TwilioException, *UNANSWERED) as exc:
                reason = f"Twilio message list unavailable ({exc}); not texting blind"
                return not_delivered(message, reason, retryable=True, wait=_wait(exc))
            if sid is not None:
                log.info(
                    "sms: %s was sent before (found in Twilio's list)", message.idempotency_key
                )
                await guard_record(
                    self.ledger,
                    self._record(message, state="sent", provider_message_id=sid, reply_code=code),
                )
                return delivered(message, sid).model_copy(update={"found_at_provider": True})
        if message.channel == "sms":
            # The reply code must map back before the owner can answer the text: guard it
            # first (bounded: a records outage costs a text at most GUARD_TIMEOUT).
            await guard_record(self.ledger, self._record(message, reply_code=code))
        try:
            if message.channel == "voice":
                created: Any = await self.client.calls.create_async(
                    to=message.target, from_=self.from_number, twiml=_voice_twiml(text)
                )
            else:
                created = await self.client.messages.create_async(
                    to=message.target, from_=self.from_number, body=text
                )
        except TwilioUnavailable as exc:
            return not_delivered(
                message, f"Twilio unavailable: {exc}", retryable=True, wait=exc.wait
            )
        except TwilioRestException as exc:
            permanent = 400 <= exc.status < 500 and exc.status != 429
            reason = f"Twilio refused {message.channel} to {message.target}: {exc.code} {exc.msg}"
            log.warning("%s (%s)", reason, "permanent" if permanent else "will retry")
            return not_delivered(message, reason, retryable=not permanent)
        except UNANSWERED as exc:
            return not_delivered(message, f"Twilio did not answer: {exc!r}", retryable=True)
        sid = str(created.sid)
        await guard_record(
            self.ledger,
            self._record(message, state="sent", provider_message_id=sid, reply_code=code),
        )
        return delivered(message, sid)

    async def _code(self, message: Notification, now: datetime) -> str:
        """The exception's reply code; with the ledger unreachable, its first derivation
        (a rare clash with another exception's code beats a page held by a records outage)."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(assign_code, message.exception_id, self.ledger, now),
                GUARD_TIMEOUT,
            )
        except Exception as err:  # any store failure
            log.warning("sms: reply codes unreadable (%s); using the first derivation", err)
            return reply_code(message.exception_id)

    async def _find_sent(self, message: Notification, text: str, first: datetime) -> str | None:
        """The sid of this delivery's text if Twilio already has it (same to, from, body,
        created since the delivery was first scheduled)."""
        since = first - CLOCK_SKEW
        found = await self.client.messages.list_async(
            to=message.target, from_=self.from_number, date_sent_after=since, limit=200
        )
        for item in found:
            created = item.date_created or item.date_sent
            if item.body == text and (created is None or created >= since):
                return str(item.sid)
        return None

    async def update(self, message: Notification, provider_message_id: str) -> Delivery:
        """A text cannot be edited; a page per state change would be noise, so none is sent."""
        log.info("sms: no update texted for %s (%s)", message.exception_id, message.reason)
        return delivered(message, provider_message_id)

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


def _wait(exc: BaseException) -> float | None:
    return exc.wait if isinstance(exc, TwilioUnavailable) else None
