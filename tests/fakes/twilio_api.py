"""A fake Twilio REST API (Messages and Calls), with Twilio's error shapes.

The real `twilio.rest.Client` reaches it through escalator's http client with
a base-URL override. It checks HTTP basic auth (account sid + auth token),
lists sent messages filtered by To / From / DateSent as Twilio does (what a
sender reads to learn whether a lost answer hid an accepted message),
refuses numbers that are not E.164 or listed in `invalid_numbers` with
Twilio's error 21211, and plays queued faults (429 + Retry-After, 5xx,
stalls, or an error code such as "21211" / "20003").
"""

from __future__ import annotations

import base64
import itertools
import re
import time
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
    at: float = field(default_factory=time.time)  # when Twilio accepted it (wall clock)

    def resource(self, account_sid: str) -> dict[str, Any]:
        sent = datetime.fromtimestamp(self.at, UTC)
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "status": "queued",
            "date_created": format_datetime(sent),
            "date_sent": format_datetime(sent),
        }


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
            web.get("/2010-04-01/Accounts/{sid}/Messages.json", self._list_messages),
            web.post("/2010-04-01/Accounts/{sid}/Calls.json", self._calls),
        ]

    async def _messages(self, request: web.Request) -> web.Response:
        return await self._create(request, "Messages", "SM")

    async def _list_messages(self, request: web.Request) -> web.Response:
        """GET Messages.json: one page, newest first, filtered like Twilio (DateSent by day)."""
        query = dict(request.query)
        self.record("ListMessages", query, request)
        if not self._authorized(request) or request.match_info["sid"] != self.account_sid:
            return _error(20003, 401, "Authenticate")
        with self._lock:
            found = list(reversed(self.messages))
        day_filters = {
            "DateSent": lambda d, v: d == v,
            "DateSent>": lambda d, v: d >= v,
            "DateSent<": lambda d, v: d <= v,
        }
        for name, keep in day_filters.items():
            if name in query:
                bound = query[name][:10]  # YYYY-MM-DD: Twilio filters by UTC day
                found = [m for m in found if keep(_day(m.at), bound)]
        if "To" in query:
            found = [m for m in found if m.to == query["To"]]
        if "From" in query:
            found = [m for m in found if m.from_ == query["From"]]
        size = int(query.get("PageSize", 50))
        uri = request.path
        return web.json_response(
            {
                "messages": [m.resource(self.account_sid) for m in found[:size]],
                "uri": uri,
                "first_page_uri": uri,
                "next_page_uri": None,
                "previous_page_uri": None,
                "page": 0,
                "page_size": size,
                "start": 0,
                "end": max(0, min(size, len(found)) - 1),
            }
        )

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
        return web.json_response(sent.resource(self.account_sid), status=201)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == self.account_sid and password == self.auth_token


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).date().isoformat()


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
