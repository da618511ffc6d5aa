"""A local HTTP fake on 127.0.0.1 (random port), served by aiohttp in its own thread.

Its own thread and event loop, so both sync clients (requests, urllib) and async
clients in the test's loop can talk to it without deadlocking each other.
Faults are queued per API method and consumed one per request, so a test says
exactly "the next two chat.postMessage calls get a 429" and can count attempts.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from .fault_modes import FaultModes

__all__ = ["Call", "FakeServer", "Fault"]


@dataclass(frozen=True)
class Fault:
    """One injected failure: an HTTP status (with Retry-After), a delay, or an API error."""

    status: int | None = None  # e.g. 429, 500, 503
    retry_after: int | None = None  # seconds, sent as Retry-After with the status
    delay: float = 0.0  # seconds to stall before answering (client timeouts)
    after: bool = False  # stall *after* doing the work: the provider accepted, the answer is lost
    error: str | None = None  # API-level error, e.g. "channel_not_found" or "21211"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.time)  # wall clock: the fault suite's delay figures


class FakeServer:
    """Subclasses add routes in `routes()`; `start()` / `stop()` run it on a random port."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.faults = FaultModes()  # time-based outages, resets, stalls (fault_modes.py)

    # --- test API ---

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, method: str, *faults: Fault) -> None:
        with self._lock:
            self._faults[method].extend(faults)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    # --- for subclasses ---

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def record(self, method: str, params: dict[str, Any], request: web.Request) -> None:
        with self._lock:
            self.calls.append(Call(method, params, dict(request.headers)))

    async def take_fault(self, method: str) -> Fault | None:
        """The next queued fault for `method`, after sleeping its delay."""
        with self._lock:
            queue = self._faults.get(method)
            fault = queue.popleft() if queue else None
        if fault and fault.delay and not fault.after:
            await asyncio.sleep(fault.delay)
        return fault

    # --- lifecycle ---

    def start(self) -> Self:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start within 10 s")
        return self

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self.faults.middleware])
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        loop = self._loop
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        loop.close()
        self._loop = None
