"""`POST /heartbeats/NAME` on the receiver, over real HTTP, into a real Temporal server:
refused without the bearer token, 404 for an undeclared name, and a beat the monitor
counts."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from pathlib import Path

import aiohttp
import pytest
from harness import Harness
from temporalio.service import RPCError

from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.policies.loader import load_policies
from escalator.receiver.app import build_receiver, serve
from escalator.receiver.heartbeats import HeartbeatEndpoint
from escalator.workflows.heartbeat_contracts import HeartbeatStatus, heartbeat_workflow_id

pytestmark = pytest.mark.temporal
EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"
TOKEN = "hb-token-7c21d9"


async def test_the_endpoint_refuses_strangers_and_counts_beats(
    harness: Harness, tmp_path: Path
) -> None:
    name = f"nightly-{uuid.uuid4().hex[:6]}"
    shutil.copytree(EXAMPLES, tmp_path / "policies")
    (tmp_path / "policies" / "heartbeats.yaml").write_text(
        f"heartbeats:\n  - name: {name}\n    every: 1h\n    rule: label_print_failed\n"
    )
    policies = load_policies([tmp_path / "policies"])
    app = build_receiver(
        temporal=harness.client, policies=policies, ledger=InMemoryLedger(), heartbeat_token=None
    )
    endpoint = HeartbeatEndpoint(harness.client, policies, TOKEN, harness.task_queue)
    beats = aiohttp.web.Application()
    endpoint.add_to(beats)
    runners = [await serve(app, "127.0.0.1", 0), await serve(beats, "127.0.0.1", 0)]
    try:
        off, on = (_port(r) for r in runners)
        async with aiohttp.ClientSession() as http:
            # The receiver without ESCALATOR_WEBHOOK_TOKEN says so, and beats nothing.
            async with http.post(f"http://127.0.0.1:{off}/heartbeats/{name}") as r:
                assert r.status == 503
                assert "ESCALATOR_WEBHOOK_TOKEN" in (await r.json())["error"]
            url = f"http://127.0.0.1:{on}/heartbeats/{name}"
            async with http.post(url) as r:
                assert r.status == 401
            async with http.post(url, headers={"Authorization": "Bearer guess"}) as r:
                assert r.status == 403 and (await r.json())["error"] == "wrong bearer token"
            with pytest.raises(RPCError):  # nothing was started by the refused requests
                await harness.client.get_workflow_handle(heartbeat_workflow_id(name)).describe()
            auth = {"Authorization": f"Bearer {TOKEN}"}
            async with http.post(f"http://127.0.0.1:{on}/heartbeats/nope", headers=auth) as r:
                assert r.status == 404
                assert f"known: {name}" in (await r.json())["error"]
            for _ in range(2):
                async with http.post(url, headers=auth) as r:
                    assert r.status == 202, await r.text()
        handle = harness.client.get_workflow_handle(heartbeat_workflow_id(name))
        status = None
        for _ in range(200):
            status = await handle.query("status", result_type=HeartbeatStatus)
            if status is not None and status.beats == 2:
                break
            await asyncio.sleep(0.05)
        assert status is not None and status.beats == 2 and not status.missed
    finally:
        for runner in runners:
            await runner.cleanup()
        with contextlib.suppress(RPCError):
            await harness.client.get_workflow_handle(heartbeat_workflow_id(name)).terminate()


def _port(runner: aiohttp.web.AppRunner) -> int:
    server = next(iter(runner.sites))._server
    assert server is not None
    return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
