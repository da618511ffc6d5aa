"""The storm gate waits out Temporal's limit of 10 updates in flight per workflow.

In a storm of thousands every exception's gate activity asks the one storm workflow at
once (up to 100 activities per worker). Temporal refuses the 11th update in flight
(RESOURCE_EXHAUSTED); the gate used to fail on it, and after five failed attempts the
exception paged alone, which is what storm control is there to prevent. Here 100 asks
start together through the gate activity's own function, on the dev server, with no
client-side limit: every one is answered, 10 page and 90 are grouped.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from storm_helpers import capturing_wiring, gate_storm, numbered_member
from temporal_servers import start_dev_server

from escalator.activities.channels import CapturingSender
from escalator.activities.storm import ask_storm
from escalator.client import with_pydantic
from escalator.worker.main import build_worker
from escalator.workflows.storm_contracts import StormGateInput, storm_id

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]

ASKS = 100
THRESHOLD = 10


async def test_100_asks_at_once_are_all_answered() -> None:
    env = await start_dev_server()
    try:
        client = with_pydantic(env.client)
        task_queue = f"tq-{uuid.uuid4()}"
        channel = CapturingSender()
        wiring = capturing_wiring(channel)
        storm = gate_storm(THRESHOLD)
        member = numbered_member

        async with build_worker(client, task_queue, wiring):
            # The first ask starts the storm; the rest arrive together.
            first = await ask_storm(
                client, task_queue, StormGateInput(storm=storm, member=member(0))
            )
            asks = [
                ask_storm(client, task_queue, StormGateInput(storm=storm, member=member(n)))
                for n in range(1, ASKS)
            ]
            verdicts = [first, *await asyncio.gather(*asks, return_exceptions=True)]
            errors = [v for v in verdicts if isinstance(v, BaseException)]
            assert errors == [], f"{len(errors)} asks failed, first: {errors[:1]}"
            actions = [v.action for v in verdicts]  # type: ignore[union-attr]
            assert actions.count("page") == THRESHOLD
            assert actions.count("grouped") == ASKS - THRESHOLD
            sid = storm_id(storm.journey, storm.rule, storm.role)
            await client.get_workflow_handle(sid).terminate("test finished")
    finally:
        await env.shutdown()
