"""What the receiver needs, checked again and again: /healthz, /readyz, and the outage gate.

The receiver starts without Temporal (its client connects lazily, at the first call, and
the SDK reconnects by itself after that), so /healthz answers as soon as the port is open.
``Readiness`` probes every few seconds what a Slack click or an SMS reply needs:

- Temporal: the frontend at TEMPORAL_ADDRESS answers for the namespace;
- records: the records database answers ``SELECT 1`` (SMS reply codes, silences);
- policies: loaded at start (a policy that does not load stops the receiver, exit 2).

/readyz is 200 with ``{"ready": true, ...}`` when all three are there, and 503 naming what
is missing and what to check otherwise. Whether a worker polls the task queue is reported
too, but does not make the receiver unready: Temporal keeps what it admits for the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

from escalator.policies.policy_set import PolicySet
from escalator.temporal_outage import CHECK_TEMPORAL, pollers, unreachable_reason

__all__ = ["Readiness", "outage_sentence"]

log = logging.getLogger("escalator.receiver")
PROBE_S = 3.0  # one probe of one part; Slack wants its answer within 3 s, the gate never waits
EVERY_S = 2.0


def outage_sentence(address: str, reason: str) -> str:
    """What a person clicking in Slack (or texting) reads while Temporal is unreachable."""
    return (
        f"escalator cannot reach Temporal right now ({reason}), so nothing was changed: "
        "try again in a minute; if it lasts, tell whoever runs escalator "
        f"(Temporal at {address} is down or unreachable)"
    )


class Readiness:
    def __init__(
        self,
        client: Client,
        *,
        address: str,
        task_queue: str,
        database_url: str | None,
        policies: PolicySet,
        every: float = EVERY_S,
    ) -> None:
        self.client, self.address, self.task_queue = client, address, task_queue
        self.database_url, self.policies, self.every = database_url, policies, every
        self.temporal: str | None = "not checked yet"  # None: reachable; else why not
        self.records: str | None = "not checked yet" if database_url else None
        self.worker = "not checked yet"
        self.checked_at = 0.0
        self._engine: Engine | None = None

    @property
    def temporal_ok(self) -> bool:
        return self.temporal is None

    def outage(self) -> str | None:
        """The sentence for a person while Temporal is unreachable; None when it answers, or
        before the first probe (then the request goes on and fails, or not, by itself)."""
        if self.temporal is None or not self.checked_at:
            return None
        return outage_sentence(self.address, self.temporal)

    async def probe(self) -> None:
        was = self.temporal
        temporal = await self._probe_temporal()
        if temporal is None:
            self.worker = (await pollers(self.client, self.task_queue)).sentence()
        else:
            self.worker = "unknown while Temporal is unreachable"
        if self.database_url:
            self.records = await self._probe_records()
        self.temporal = temporal  # last: the gate opens once the rest is known
        self.checked_at = time.monotonic()
        if was != self.temporal:
            if self.temporal is None:
                log.info("Temporal at %s answers: ready for Slack and SMS", self.address)
            else:
                log.warning(
                    "cannot reach Temporal at %s: %s; answering Slack and SMS with "
                    "'try again' until it is back (%s)",
                    self.address,
                    self.temporal,
                    CHECK_TEMPORAL,
                )

    async def run(self, stop: asyncio.Event) -> None:
        """Probe until ``stop``: the lazy client connects at the first probe that reaches
        Temporal, so /readyz turns ready (and clicks work) without a restart."""
        while not stop.is_set():
            await self.probe()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)

    async def _probe_temporal(self) -> str | None:
        try:
            async with asyncio.timeout(PROBE_S):
                await self.client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=self.client.namespace),
                    timeout=timedelta(seconds=PROBE_S),
                )
        except TimeoutError:
            return "no answer (timed out)"
        except (RPCError, RuntimeError) as err:
            return unreachable_reason(err) or str(err)[:160]
        return None

    async def _probe_records(self) -> str | None:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._select_one), PROBE_S)
        except TimeoutError:
            return "no answer (timed out)"
        except Exception as err:  # any driver's error: the sentence is what matters here
            return str(err).splitlines()[0][:160]
        return None

    def _select_one(self) -> None:
        assert self.database_url is not None
        if self._engine is None:
            # A plain connection, no table creation: the worker owns the schema.
            self._engine = create_engine(self.database_url, pool_pre_ping=True)
        with self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def report(self) -> tuple[bool, dict[str, Any]]:
        missing: dict[str, str] = {}
        if self.temporal is not None:
            missing["temporal"] = (
                f"cannot reach Temporal at {self.address}: {self.temporal}; {CHECK_TEMPORAL}"
            )
        if self.records is not None:
            missing["records"] = (
                f"the records database does not answer: {self.records}; check "
                "ESCALATOR_DATABASE_URL and that the database runs"
            )
        roles = len(self.policies.roles)
        if roles == 0:
            missing["policies"] = "no owner roles in the policies: nobody can answer"
        body: dict[str, Any] = {
            "ready": not missing,
            "missing": missing,
            "temporal": "ok" if self.temporal is None else self.temporal,
            "records": "ok" if self.records is None else self.records,
            "policies": f"{roles} roles",
            "worker": self.worker,
        }
        return not missing, body

    async def readyz(self, request: web.Request) -> web.Response:
        ok, body = self.report()
        return web.json_response(body, status=200 if ok else 503)
