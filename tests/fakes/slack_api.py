"""A fake Slack Web API: the methods escalator calls, with Slack's error shapes.

Point the real `slack_sdk` client at `fake.api_url`. It checks the bot token,
knows which channels exist, keeps messages by (channel, ts) so `chat.update`
really edits one, stores message metadata for `conversations.history`, and
plays queued faults (429 + Retry-After, 5xx, stalls, API errors such as
`channel_not_found`, `invalid_auth`, `token_revoked`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .server import FakeServer

__all__ = ["FakeSlack", "Message", "fake_slack_fixture"]


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    edits: int = 0
    at: float = field(default_factory=time.time)  # when Slack accepted it (wall clock)


class FakeSlack(FakeServer):
    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        channels: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.app_token = app_token
        self.socket_acks: list[dict[str, Any]] = []  # what Socket Mode clients answered
        self._sockets: list[web.WebSocketResponse] = []
        # channel name -> id; posts accept either, like Slack, and answer with the id
        self.channels = channels or {
            "#ops-inventory": "C0INVENTORY",
            "#ops-billing": "C0BILLING",
            "#incident-leads": "C0LEADS",
        }
        self.messages: dict[tuple[str, str], Message] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # what was POSTed to response_url
        self._ts = itertools.count(100)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def response_url(self) -> str:
        return f"{self.base_url}/response"

    def top_level(self, channel: str) -> list[Message]:
        return [m for m in self.messages.values() if m.channel == channel and not m.thread_ts]

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.messages.values() if m.channel == channel and m.thread_ts == ts]

    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/api/{method}", self._api),
            web.post("/response", self._response_url),
            web.get("/socket", self._socket),
        ]

    # --- Socket Mode: apps.connections.open hands out this websocket ---

    @property
    def connected_sockets(self) -> int:
        with self._lock:
            return len(self._sockets)

    def push(self, envelope: dict[str, Any]) -> None:
        """Send an envelope (slash_commands, interactive, events_api) to the connected app."""
        assert self._loop is not None
        with self._lock:
            ws = self._sockets[-1]
        asyncio.run_coroutine_threadsafe(ws.send_json(envelope), self._loop).result(5)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # answers the client's pings with pongs
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        with self._lock:
            self._sockets.append(ws)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                with self._lock:
                    self.socket_acks.append(json.loads(msg.data))
        with self._lock:
            self._sockets.remove(ws)
        return ws

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.responses.append(body)
        return web.json_response({"ok": True})

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update(dict(await request.post()))
        self.record(method, params, request)

        fault = await self.take_fault(method)
        if fault and fault.status:
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            error = "ratelimited" if fault.status == 429 else "internal_error"
            return web.json_response(
                {"ok": False, "error": error}, status=fault.status, headers=headers
            )
        if fault and fault.error:
            return _error(fault.error)

        token = params.get("token") or request.headers.get("Authorization", "").removeprefix(
            "Bearer "
        )
        expected = self.app_token if method == "apps.connections.open" else self.token
        if token != expected:
            return _error("invalid_auth")
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method")
        result: web.Response = handler(params)
        if fault and fault.after:  # done, but the client gives up before hearing so
            await asyncio.sleep(fault.delay)
        return result

    # --- methods ---

    def _m_auth_test(self, params: dict[str, Any]) -> web.Response:
        return web.json_response(
            {"ok": True, "user_id": "U0BOT", "bot_id": "B0BOT", "team_id": "T0TEAM", "user": "esc"}
        )

    def _conversation(self, channel: str) -> str | None:
        """The conversation id for a name, id or user id (a DM: Slack opens the IM)."""
        if channel in self.channels:
            return self.channels[channel]
        if channel in self.channels.values():
            return channel
        if channel.startswith(("U", "W")):
            return "D" + channel
        return None

    def _m_apps_connections_open(self, params: dict[str, Any]) -> web.Response:
        return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"})

    def _m_chat_postMessage(self, params: dict[str, Any]) -> web.Response:
        conversation = self._conversation(str(params.get("channel", "")))
        if conversation is None:
            return _error("channel_not_found")
        channel = conversation
        ts = f"1700000000.{next(self._ts):06d}"
        msg = Message(
            channel=channel,
            ts=ts,
            text=str(params.get("text", "")),
            blocks=_json_field(params.get("blocks")),
            thread_ts=params.get("thread_ts"),
            metadata=_json_field(params.get("metadata")) or None,
        )
        with self._lock:
            self.messages[(channel, ts)] = msg
        return web.json_response({"ok": True, "channel": channel, "ts": ts})

    def _m_chat_update(self, params: dict[str, Any]) -> web.Response:
        key = (str(params.get("channel")), str(params.get("ts")))
        with self._lock:
            msg = self.messages.get(key)
            if msg is None:
                return _error("message_not_found")
            msg.text = str(params.get("text", msg.text))
            if "blocks" in params:
                msg.blocks = _json_field(params["blocks"])
            msg.edits += 1
        return web.json_response({"ok": True, "channel": key[0], "ts": key[1]})

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> web.Response:
        with self._lock:
            self.ephemerals.append(params)
        return web.json_response({"ok": True, "message_ts": "1700000000.999999"})

    def _m_views_open(self, params: dict[str, Any]) -> web.Response:
        with self._lock:
            self.views.append(params)
        return web.json_response({"ok": True, "view": {"id": "V0VIEW"}})

    def _m_conversations_open(self, params: dict[str, Any]) -> web.Response:
        user = str(params.get("users", ""))
        if not user.startswith(("U", "W")):
            return _error("user_not_found")
        return web.json_response({"ok": True, "channel": {"id": "D" + user}})

    def _m_conversations_list(self, params: dict[str, Any]) -> web.Response:
        found = [
            {"id": cid, "name": name.lstrip("#"), "is_channel": True}
            for name, cid in self.channels.items()
            if name.startswith("#")
        ]
        return web.json_response(
            {"ok": True, "channels": found, "response_metadata": {"next_cursor": ""}}
        )

    def _m_conversations_history(self, params: dict[str, Any]) -> web.Response:
        channel = str(params.get("channel"))
        is_dm = channel.startswith("D") and channel[1:].startswith(("U", "W"))
        if channel not in self.channels.values() and not is_dm:  # ids only, as in Slack
            return _error("channel_not_found")
        with self._lock:
            found = [m for m in self.messages.values() if m.channel == channel and not m.thread_ts]
        found.sort(key=lambda m: m.ts, reverse=True)
        out = [
            {"ts": m.ts, "text": m.text, **({"metadata": m.metadata} if m.metadata else {})}
            for m in found
        ]
        return web.json_response(
            {"ok": True, "channel": channel, "messages": out, "has_more": False}
        )


def fake_slack_fixture() -> Iterator[FakeSlack]:
    """The body of a fixture with a running fake Slack, stopped after the test:
    ``slack = pytest.fixture(fake_slack_fixture, name="slack")``."""
    fake = FakeSlack().start()
    try:
        yield fake
    finally:
        fake.stop()


def _error(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error})


def _json_field(value: Any) -> Any:
    """slack_sdk sends blocks/metadata as JSON strings in form bodies, objects in JSON bodies."""
    if isinstance(value, str):
        return json.loads(value) if value else []
    return value or []
