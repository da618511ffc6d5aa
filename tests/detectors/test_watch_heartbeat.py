"""A journey's own events beat its heartbeats: `detect --watch` reads new events and
signals the heartbeat's monitor on a real Temporal server (only for the listed events)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError
from watch_helpers import WATCH_POLICY, config, create_table, insert

from escalator.activities.channels import CapturingSender
from escalator.client import with_pydantic
from escalator.detectors.watch import TemporalSink, Watcher
from escalator.policies.policy_set import PolicyDocument, PolicySet
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.heartbeat_contracts import HeartbeatStatus, heartbeat_workflow_id

pytestmark = pytest.mark.temporal


async def test_new_events_of_the_journey_beat_its_heartbeat(
    client: Client, task_queue: str, tmp_path: Path
) -> None:
    name = f"orders-feed-{uuid.uuid4().hex[:6]}"
    beat = {
        "name": name,
        "every": "2h",
        "rule": "stuck",
        "journey": "orders",
        "events": ["shipped"],
    }
    ps = PolicySet.merge([PolicyDocument.model_validate({**WATCH_POLICY, "heartbeats": [beat]})])
    url, table = f"sqlite:///{tmp_path / 'events.db'}", "events"
    engine = create_table(url, table)
    channel = CapturingSender()
    wiring = Wiring(senders={"slack": channel}, fallback=channel)
    handle = with_pydantic(client).get_workflow_handle(heartbeat_workflow_id(name))
    try:
        async with build_worker(client, task_queue, wiring):
            w = Watcher(
                config(tmp_path, url, table),
                ps,
                ps.journeys[0],
                TemporalSink(client, ps, task_queue),
            )
            now = datetime.now(UTC).isoformat()
            insert(engine, table, ("A", "created", now))
            assert (await w.poll_once()).beaten == []  # not an event the heartbeat lists
            with pytest.raises(RPCError):
                await handle.describe()
            insert(engine, table, ("A", "shipped", now))
            assert (await w.poll_once()).beaten == [name]
            assert (await w.poll_once()).beaten == []  # no new events, no beat
            status = None
            for _ in range(200):
                status = await handle.query("status", result_type=HeartbeatStatus)
                if status is not None and status.beats == 1:
                    break
                await asyncio.sleep(0.05)
            assert status is not None and status.beats == 1 and not status.missed
            w.close()
    finally:
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")
        engine.dispose()
