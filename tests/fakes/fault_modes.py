"""Time-based fault modes for the fake providers, switched on and off from a test.

Queued `Fault`s (server.py) hit the next N requests; these modes hold for a span
of wall-clock time or a count, as real outages do, so a test can say "Slack
answers 500 for 5 s" or "accept the next post, then hang the answer" while a
real worker process is sending. They run as aiohttp middleware, so every route
of every fake gets them without touching its handlers.

Modes (key = the last path segment without ``.json``: ``chat.postMessage``,
``Messages``):
- ``outage(key, status, seconds, retry_after=None)``: answer ``status`` (429,
  5xx) with an optional Retry-After until the span ends;
- ``reset(key, seconds)``: abort the connection with a TCP RST before reading;
- ``stall_after_accept(key, count, seconds)``: run the handler (the provider
  accepted and stored the message), then hold the answer for ``seconds``.
  Only requests that create something (not GET: Twilio's message list shares
  the ``Messages`` key with sending).

Every request a mode touched is logged in ``events`` (wall-clock time, key,
what was done), so the fault suite can count the faults it injected.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["FaultModes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fault_key(request: web.Request) -> str:
    return request.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")


@dataclass
class FaultModes:
    outages: dict[str, tuple[float, int, int | None]] = field(default_factory=dict)
    resets: dict[str, float] = field(default_factory=dict)
    stalls: dict[str, tuple[int, float]] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)  # requests a mode turned away
    stalled: dict[str, int] = field(default_factory=dict)  # accepted requests held
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (time.time(), key, what)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def outage(self, key: str, status: int, seconds: float, retry_after: int | None = None) -> None:
        with self._lock:
            self.outages[key] = (time.monotonic() + seconds, status, retry_after)

    def reset(self, key: str, seconds: float) -> None:
        with self._lock:
            self.resets[key] = time.monotonic() + seconds

    def stall_after_accept(self, key: str, count: int, seconds: float) -> None:
        with self._lock:
            self.stalls[key] = (count, seconds)

    def clear(self) -> None:
        """End every mode now (the counters and the event log stay)."""
        with self._lock:
            self.outages.clear()
            self.resets.clear()
            self.stalls.clear()

    def injected(self, since: float = 0.0) -> int:
        """Requests a mode refused, reset or stalled since ``since`` (time.time())."""
        with self._lock:
            return sum(1 for at, _, _ in self.events if at >= since)

    def _count(self, table: dict[str, int], key: str, what: str) -> None:
        with self._lock:
            table[key] = table.get(key, 0) + 1
            self.events.append((time.time(), key, what))

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        key, now = fault_key(request), time.monotonic()
        with self._lock:
            outage = self.outages.get(key)
            reset_until = self.resets.get(key, 0.0)
        if reset_until > now:
            self._count(self.refused, key, "reset")
            _abort(request)
            raise ConnectionResetError(f"fault mode: reset {key}")
        if outage and outage[0] > now:
            _, status, retry_after = outage
            self._count(self.refused, key, f"status {status}")
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            error = "ratelimited" if status == 429 else "internal_error"
            # One body both clients understand: Slack reads `error`, Twilio `code`/`message`.
            body = {"ok": False, "error": error, "code": 20000 + status, "message": error}
            return web.json_response(body, status=status, headers=headers)
        response = await handler(request)
        with self._lock:
            count, seconds = self.stalls.get(key, (0, 0.0))
            if request.method == "GET":
                count = 0
            if count:
                self.stalls[key] = (count - 1, seconds)
        if count:
            self._count(self.stalled, key, f"stalled {seconds:g}s after accepting")
            await asyncio.sleep(seconds)
        return response


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:  # linger 0: close sends RST, as a dropped connection does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
