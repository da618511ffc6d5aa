"""A tool receiving escalator's outbound webhooks, on 127.0.0.1: it checks the
signature the way docs/integrations.md tells receivers to (written here from the
documented scheme, not with escalator's own code), answers 401 to a bad one, and
keeps one delivery per Idempotency-Key as a receiver should.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .server import FakeServer

__all__ = ["FakeWebhookReceiver", "Received"]


@dataclass(frozen=True)
class Received:
    key: str
    event: dict[str, Any]
    headers: dict[str, str]


class FakeWebhookReceiver(FakeServer):
    """POST /hook; faults are queued under "hook" (see FakeServer.inject)."""

    def __init__(self, secret: str, tolerance: int = 300) -> None:
        super().__init__()
        self.secret = secret
        self.tolerance = tolerance
        self.received: list[Received] = []  # every request whose signature checked out
        self.refused: list[str] = []  # why each refused request was refused
        self.by_key: dict[str, Received] = {}  # what the tool acted on, once per key

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/hook", self._hook)]

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        why = self._check(request.headers.get("Escalator-Signature", ""), body)
        if why:
            self.refused.append(why)
            return web.json_response({"error": why}, status=401)
        key = request.headers["Idempotency-Key"]
        event = json.loads(body)
        self.record("hook", event, request)
        received = Received(key, event, dict(request.headers))
        self.received.append(received)
        fault = await self.take_fault("hook")
        if fault and fault.status:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            return web.json_response({"error": "fault"}, status=fault.status, headers=headers)
        self.by_key.setdefault(key, received)
        answer = web.json_response({"id": f"T-{len(self.by_key)}"})
        if fault and fault.after:  # the tool took it, the answer is lost
            await asyncio.sleep(fault.delay)
        return answer

    def _check(self, header: str, body: bytes) -> str | None:
        fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        if "t" not in fields or "v1" not in fields:
            return "no signature"
        if abs(time.time() - int(fields["t"])) > self.tolerance:
            return "stale timestamp"
        expected = hmac.new(
            self.secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, fields["v1"]):
            return "bad signature"
        return None
