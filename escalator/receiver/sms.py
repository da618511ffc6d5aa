"""Inbound SMS (Twilio webhook): "ACK 4821" / "RES 4821 moved stock" from an on-call phone.

Checked in this order, and nothing is acted on unless every check passes:
the `X-Twilio-Signature` (twilio's RequestValidator over the public URL and
the form), a message sid not seen before (Twilio's signature has no
timestamp, so a replay is caught by its sid), a sender number that belongs
to a policy member, a reply that parses, and a code the delivery ledger
handed out recently. The workflow validators then decide; the sender gets
a TwiML reply that confirms or explains.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from escalator.activities.delivery_ledger import REPLY_CODE_TTL, DeliveryLedger
from escalator.activities.sms_codes import ReplyVerb, SmsReplyError, parse_reply
from escalator.receiver.directory import MemberDirectory
from escalator.receiver.responses import ResponseApplier
from escalator.receiver.security import ReplayGuard

__all__ = ["SmsWebhook"]

log = logging.getLogger(__name__)
DEFAULT_NOTE = "resolved by SMS reply"


def _twiml(text: str | None) -> web.Response:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return web.Response(text=str(reply), content_type="application/xml")


class SmsWebhook:
    def __init__(
        self,
        *,
        auth_token: str,
        directory: MemberDirectory,
        ledger: DeliveryLedger,
        responses: ResponseApplier,
        public_url: str | None = None,
        guard: ReplayGuard | None = None,
    ) -> None:
        self.validator = RequestValidator(auth_token)
        self.directory = directory
        self.ledger = ledger
        self.responses = responses
        self.public_url = public_url.rstrip("/") if public_url else None
        self.guard = guard or ReplayGuard(ttl=24 * 3600)

    def url_of(self, request: web.Request) -> str:
        """The URL Twilio called (and signed): behind a proxy, the configured public URL."""
        if self.public_url:
            return self.public_url + request.path_qs
        return str(request.url)

    async def handle(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self.validator.validate(self.url_of(request), form, signature):
            log.warning("refused inbound SMS: bad Twilio signature (from %s)", form.get("From"))
            return web.Response(status=403, text="bad Twilio signature")
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not sid or not self.guard.first_use(sid):
            log.warning("ignored inbound SMS %r: missing or already handled", sid)
            return _twiml(None)
        sender = form.get("From", "")
        actor = self.directory.by_phone(sender)
        if actor is None:
            log.warning("refused inbound SMS from unknown number %s", sender)
            return _twiml(None)  # no reply: do not confirm to strangers that this number is live
        try:
            reply = parse_reply(form.get("Body", ""))
        except SmsReplyError as err:
            return _twiml(str(err))
        holder = self.ledger.holder_of_code(reply.code, datetime.now(UTC) - REPLY_CODE_TTL)
        if holder is None:
            log.warning(
                "refused inbound SMS from %s (%s): unknown code %s", actor, sender, reply.code
            )
            return _twiml(f"No open exception has code {reply.code}. Nothing was changed.")
        xid = holder.exception_id
        if reply.verb is ReplyVerb.ACK:
            outcome = await self.responses.acknowledge(xid, actor, "sms")
        else:
            outcome = await self.responses.resolve(
                xid, actor, reply.note or DEFAULT_NOTE, None, "sms"
            )
        if outcome.ok:
            return _twiml(f"OK: {outcome.message} ({reply.code}).")
        return _twiml(f"Not done: {outcome.message}.")
