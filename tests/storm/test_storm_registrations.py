"""2,500 registrations with one storm on the dev server: past Temporal's 2,000 updates per run.

Before the ``storm-runs`` patch the storm refused every registration past ~2,000 (the
gate activity then paged each exception alone). The registrations here go through the
storm-gate activity's own function (`activities.storm.ask_storm`: update-with-start on
the storm id), eight at a time (Temporal admits ten updates in flight per workflow).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from storm_helpers import capturing_wiring, gate_storm, numbered_member
from temporal_servers import start_dev_server

from activities.channels import CapturingSender
from activities.storm import ask_storm
from detectors.raising import with_pydantic
from workers.worker import build_worker
from workflows.storm_contracts import (
    REGISTRATIONS_PER_RUN,
    StormGateInput,
    StormState,
    storm_id,
)

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(400)]

MEMBERS = 2500
THRESHOLD = 10


async def test_storm_groups_2500_members_across_runs() -> None:
    env = await start_dev_server()
    try:
        client = with_pydantic(env.client)
        task_queue = f"tq-{uuid.uuid4()}"
        channel = CapturingSender()
        wiring = capturing_wiring(channel)
        storm = gate_storm(THRESHOLD)
        member = numbered_member

        gate = asyncio.Semaphore(8)

        async def register(n: int):  # type: ignore[no-untyped-def]
            async with gate:
                return await ask_storm(
                    client, task_queue, StormGateInput(storm=storm, member=member(n))
                )

        async with build_worker(client, task_queue, wiring):
            verdicts = await asyncio.gather(*(register(n) for n in range(MEMBERS)))
            actions = [v.action for v in verdicts]
            assert actions.count("page") == THRESHOLD
            assert actions.count("grouped") == MEMBERS - THRESHOLD  # none fell back to a page
            numbers = sorted(v.grouped for v in verdicts if v.action == "grouped")
            assert numbers == list(range(1, MEMBERS - THRESHOLD + 1))  # each once, none lost
            # A retried registration of the first grouped member, after its run is gone.
            first = next(n for n, v in enumerate(verdicts) if v.grouped == 1)
            again = await register(first)
            assert (again.action, again.grouped) == ("grouped", 1)

            sid = storm_id(storm.journey, storm.rule, storm.role)
            handle = client.get_workflow_handle(sid)
            state = await handle.query("state", result_type=StormState)
            assert len(state.members) == MEMBERS - THRESHOLD
            assert len(state.verdicts) == THRESHOLD  # grouped members keep no verdict each
            runs = [r async for r in client.list_workflows(f"WorkflowId = '{sid}'")]
            assert len(runs) >= MEMBERS // REGISTRATIONS_PER_RUN + 1  # continued as new
            await handle.terminate("test finished")
    finally:
        await env.shutdown()
