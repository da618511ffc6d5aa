"""A fake Twilio REST API (Messages and Calls), with Twilio's error shapes.

The real `twilio.rest.Client` reaches it through escalator's http client with
a base-URL override. It checks HTTP basic auth (account sid + auth token),
refuses numbers that are not E.164 or listed in `invalid_numbers` with
Twilio's error 21211, and plays queued faults (429 + Retry-After, 5xx,
stalls, or an error code such as "21211" / "20003").
"""

from __future__ import annotations

import base64
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from .server import FakeServer

__all__ = ["FakeTwilio", "Sent"]

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ERRORS = {
    "21211": (400, "The 'To' number {to} is not a valid phone number."),
    "20003": (401, "Authenticate"),
    "21610": (400, "Attempt to send to unsubscribed recipient"),
}


@dataclass
class Sent:
    sid: str
    to: str
    from_: str
    body: str | None = None  # SMS
    twiml: str | None = None  # voice call
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def at(self) -> float:
        """When Twilio accepted it, as wall-clock seconds (the fault suite's delay figures)."""
        return self.created.timestamp()


class FakeTwilio(FakeServer):
    def __init__(
        self, *, account_sid: str = "AC" + "0" * 32, auth_token: str = "twilio-test-token"
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.invalid_numbers: set[str] = set()
        self.messages: list[Sent] = []
        self.calls_made: list[Sent] = []
        self._sid = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/2010-04-01/Accounts/{sid}/Messages.json", self._messages),
            web.post("/2010-04-01/Accounts/{sid}/Calls.json", self._calls),
            web.get("/2010-04-01/Accounts/{sid}/Messages.json", self._list_messages),
        ]

    async def _list_messages(self, request: web.Request) -> web.Response:
        """GET Messages.json filtered by To and From, newest first, as Twilio pages it
        (DateSent filters are day-granular there; the sender filters by time itself)."""
        params = dict(request.query)
        self.record("Messages.list", params, request)
        fault = await self.take_fault("Messages.list")
        if fault and fault.status:
            return _error(20500, fault.status, "fault")
        if not self._authorized(request):
            return _error(20003, 401, "Authenticate")
        with self._lock:
            found = [
                m
                for m in self.messages
                if m.to == params.get("To", m.to) and m.from_ == params.get("From", m.from_)
            ]
        found.sort(key=lambda m: m.created, reverse=True)
        items = [
            {
                "sid": m.sid,
                "account_sid": self.account_sid,
                "to": m.to,
                "from": m.from_,
                "body": m.body,
                "status": "sent",
                "date_created": format_datetime(m.created),
                "date_sent": format_datetime(m.created),
            }
            for m in found
        ]
        return web.json_response(
            {"messages": items, "next_page_uri": None, "page": 0, "page_size": len(items)}
        )

    async def _messages(self, request: web.Request) -> web.Response:
        return await self._create(request, "Messages", "SM")

    async def _calls(self, request: web.Request) -> web.Response:
        return await self._create(request, "Calls", "CA")

    async def _create(self, request: web.Request, resource: str, prefix: str) -> web.Response:
        params: dict[str, Any] = dict(await request.post())
        self.record(resource, params, request)
        fault = await self.take_fault(resource)
        if fault and fault.status:
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            return _error(20429 if fault.status == 429 else 20500, fault.status, "fault", headers)
        if fault and fault.error:
            status, message = ERRORS[fault.error]
            return _error(int(fault.error), status, message.format(to=params.get("To")))
        if not self._authorized(request):
            return _error(20003, 401, "Authenticate")
        if request.match_info["sid"] != self.account_sid:
            return _error(20404, 404, "The requested resource was not found")
        to = str(params.get("To", ""))
        if not E164.match(to) or to in self.invalid_numbers:
            status, message = ERRORS["21211"]
            return _error(21211, status, message.format(to=to))
        sid = f"{prefix}{next(self._sid):032x}"
        sent = Sent(sid=sid, to=to, from_=str(params.get("From")))
        if resource == "Messages":
            sent.body = str(params.get("Body"))
            with self._lock:
                self.messages.append(sent)
        else:
            sent.twiml = str(params.get("Twiml"))
            with self._lock:
                self.calls_made.append(sent)
        return web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": sent.from_,
                "body": sent.body,
                "status": "queued",
            },
            status=201,
        )

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == self.account_sid and password == self.auth_token


def _error(
    code: int, status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status, headers=headers or {})
