"""``POST /heartbeats/NAME``: a batch job, an integration or a cron line says it is alive.

Authenticated with a bearer token (``Authorization: Bearer $ESCALATOR_WEBHOOK_TOKEN``,
the token the alert integrations use by default): 401 without one, 403 with a wrong
one, both logged; nothing is beaten. A name no policy declares is 404 with the names
there are. A beat signals the heartbeat's monitor (starting it when it does not run
yet) and is answered 202 once Temporal has it.

    curl -X POST -H "Authorization: Bearer $ESCALATOR_WEBHOOK_TOKEN" \\
        https://escalator.example/heartbeats/nightly-export
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from temporalio.client import Client
from temporalio.service import RPCError

from escalator.client import beat_heartbeat
from escalator.policies.policy_set import PolicySet

__all__ = ["HeartbeatEndpoint"]

log = logging.getLogger(__name__)


class HeartbeatEndpoint:
    def __init__(
        self, temporal: Client, policies: PolicySet, token: str | None, task_queue: str
    ) -> None:
        self.temporal = temporal
        self.policies = policies
        self.token = token
        self.task_queue = task_queue

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/heartbeats/{name}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        refused = self._refuse(request.headers.get("Authorization", ""))
        if refused is not None:
            status, reason = refused
            log.warning("refused heartbeat %s from %s: %s", name, request.remote, reason)
            return web.json_response({"ok": False, "error": reason}, status=status)
        heartbeat = next((h for h in self.policies.heartbeats if h.name == name), None)
        if heartbeat is None:
            known = ", ".join(sorted(h.name for h in self.policies.heartbeats)) or "none"
            return web.json_response(
                {
                    "ok": False,
                    "error": f"no heartbeat named {name!r} in the policies (known: {known}); "
                    "declare it under 'heartbeats:' and restart the receiver",
                },
                status=404,
            )
        source = request.query.get("source", "http")[:64]
        try:
            await beat_heartbeat(
                self.temporal, heartbeat, self.policies, task_queue=self.task_queue, source=source
            )
        except (RPCError, RuntimeError) as err:
            log.warning("heartbeat %s not taken: Temporal unreachable (%s)", name, err)
            return web.json_response(
                {"ok": False, "error": "Temporal is unreachable; send the beat again"},
                status=503,
            )
        return web.json_response({"ok": True, "heartbeat": name}, status=202)

    def _refuse(self, given: str) -> tuple[int, str] | None:
        if not self.token:
            return 503, "heartbeats are off: ESCALATOR_WEBHOOK_TOKEN is not set on the receiver"
        if not given.startswith("Bearer "):
            return 401, "missing bearer token (Authorization: Bearer …)"
        if not hmac.compare_digest(given[7:].strip().encode(), self.token.encode()):
            return 403, "wrong bearer token"
        return None
