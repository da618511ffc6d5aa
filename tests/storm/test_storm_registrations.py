"""2,500 registrations with one storm on the dev server: past Temporal's 2,000 updates per run.

Before the ``storm-runs`` patch the storm refused every registration past ~2,000 (the
gate activity then paged each exception alone). The registrations here go through the
storm-gate activity's own function (`escalator.activities.storm.ask_storm`: update-with-start on
the storm id), eight at a time (Temporal admits ten updates in flight per workflow).

The storm's first grouped message is held at the provider until the run is full and
HELD seconds more: a full run continues as new once its messages are answered, however
long that takes (it once waited 30 s for them, gave up, and then slept until its next
deadline while every new member waited at the gate).
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
from escalator.workflows.activity_contracts import Delivery, Notification
from escalator.workflows.storm_contracts import (
    REGISTRATIONS_PER_RUN,
    StormGateInput,
    StormState,
    storm_id,
)

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(400)]

MEMBERS = 2500
THRESHOLD = 10
HELD = 32.0  # past the 30 s a full run once waited for its messages


async def test_storm_groups_2500_members_across_runs() -> None:
    env = await start_dev_server()
    try:
        client = with_pydantic(env.client)
        task_queue = f"tq-{uuid.uuid4()}"
        channel = CapturingSender()
        full = asyncio.Event()
        capture = channel.send

        async def held_while_the_run_fills(message: Notification) -> Delivery:
            if message.reason == "storm" and not full.is_set():
                await full.wait()
                await asyncio.sleep(HELD)  # the deliver activity heartbeats meanwhile
            return await capture(message)

        channel.send = held_while_the_run_fills  # type: ignore[method-assign]
        wiring = capturing_wiring(channel)
        storm = gate_storm(THRESHOLD)
        member = numbered_member

        gate = asyncio.Semaphore(8)
        answered = 0

        async def register(n: int):
            nonlocal answered
            async with gate:
                verdict = await ask_storm(
                    client, task_queue, StormGateInput(storm=storm, member=member(n))
                )
            answered += 1
            if answered >= REGISTRATIONS_PER_RUN:  # the paged ones count too
                full.set()
            return verdict

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
