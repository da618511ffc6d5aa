"""The worker installs the digest schedules when it starts: creates them, updates them on a
policy change (two workers starting at once included), deletes those of roles that no longer
have a digest, leaves other schedules alone, and survives a Temporal it cannot use.

Schedules need the dev server (the time-skipping server answers UNIMPLEMENTED), so these use
the `dev_server` fixture whatever --workflow-environment says; `run_worker` is the real one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from digest_helpers import policy_dir
from fakes.channel_stack import eventually
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from escalator.activities.channels import CapturingSender
from escalator.client import with_pydantic
from escalator.policies.loader import load_policies
from escalator.settings import Settings
from escalator.worker.digest_startup import install_digests_until_done
from escalator.worker.main import Wiring, run_worker
from escalator.workflows.digest_contracts import DIGEST_WORKFLOW, DigestRequest, digest_schedule_id

pytestmark = [pytest.mark.temporal, pytest.mark.own_dev_server]

WAREHOUSE = '{at: "09:15", calendar: nl-warehouse}'
INVENTORY = digest_schedule_id("inventory")
DECOY = digest_schedule_id("someone-elses")  # escalator's prefix, not escalator's action
ESCALATOR = str(Path(sys.executable).parent / "escalator")


@pytest.fixture
async def client(dev_server: WorkflowEnvironment) -> AsyncIterator[Client]:
    """The dev server's client; the schedules these tests make are deleted afterwards (one
    namespace for the whole session: the schedule ids are the roles')."""
    made = with_pydantic(dev_server.client)
    yield made
    for sid in (INVENTORY, DECOY):
        try:
            await made.get_schedule_handle(sid).delete()
        except RPCError as err:
            assert err.status == RPCStatusCode.NOT_FOUND, err


def _settings(client: Client, policies: Path, task_queue: str, **more: Any) -> Settings:
    return Settings(
        temporal_address=client.service_client.config.target_host,
        temporal_namespace=client.namespace,
        temporal_task_queue=task_queue,
        policy_dir=policies,
        **more,
    )


def _installs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "escalator.digests"]


async def _start_workers(
    settings: Settings, caplog: pytest.LogCaptureFixture, count: int = 1
) -> list[str]:
    """Start ``count`` real workers at once, wait until each has installed, stop them;
    the install log lines they wrote."""
    before = len(_installs(caplog))
    stop = asyncio.Event()
    wiring = Wiring(senders={"slack": CapturingSender(name="slack")})
    runs = [asyncio.create_task(run_worker(settings, wiring, stop)) for _ in range(count)]

    def finished() -> bool:
        # One line per schedule touched, and at least one per worker (a schedule-less policy
        # still logs nothing, so callers with nothing to install pass count=0 lines below).
        return len(_installs(caplog)) - before >= count

    try:
        await eventually(finished, within=30)
        await asyncio.sleep(0.2)  # a second line of the same install (a deletion), if any
    finally:
        stop.set()
        await asyncio.gather(*runs)
    return _installs(caplog)[before:]


async def test_worker_start_creates_updates_and_deletes_digest_schedules(
    client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="escalator.digests")
    task_queue = f"tq-{uuid.uuid4()}"
    policies = policy_dir(tmp_path, {"inventory": WAREHOUSE})
    handle = client.get_schedule_handle(INVENTORY)

    # Turned off: the worker starts and installs nothing.
    off = _settings(client, policies, task_queue, digest_install=False)
    stop = asyncio.Event()
    run = asyncio.create_task(run_worker(off, Wiring(), stop))
    await asyncio.sleep(1.0)
    stop.set()
    await run
    with pytest.raises(RPCError):
        await handle.describe()

    # Two workers start at once: one creates, the other updates the same schedule.
    settings = _settings(client, policies, task_queue)
    lines = await _start_workers(settings, caplog, count=2)
    assert sorted(lines) == [
        f"digest created schedule {INVENTORY}: 09:15 Europe/Amsterdam",
        f"digest updated schedule {INVENTORY}: 09:15 Europe/Amsterdam",
    ]
    described = await handle.describe()
    [cal] = described.schedule.spec.calendars
    assert ([r.start for r in cal.hour], [r.start for r in cal.minute]) == ([9], [15])
    assert sorted(r.start for r in cal.day_of_week) == [1, 2, 3, 4, 5, 6]  # mon-sat
    assert described.schedule.spec.time_zone_name == "Europe/Amsterdam"
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == (DIGEST_WORKFLOW, task_queue)
    [req] = pydantic_data_converter.payload_converter.from_payloads(
        list(action.args),
        [DigestRequest],
    )
    assert (req.role, req.slack_channel, req.at) == ("inventory", "#ops-inventory", "09:15")
    assert req.calendar is not None and req.calendar.name == "nl-warehouse"
    assert req.calendar.holidays is not None  # expanded by each run, for its own year
    assert await described.memo() == {"created_by": "escalator"}
    ours = [s.id async for s in await client.list_schedules() if s.id.startswith("digest:")]
    assert ours.count(INVENTORY) <= 1  # visibility may lag; never two

    # A changed time and zone: the next start updates the schedule in place.
    policy_dir(tmp_path, {"inventory": '{at: "06:45"}'})
    lines = await _start_workers(settings, caplog)
    assert lines == [f"digest updated schedule {INVENTORY}: 06:45 UTC"]
    spec = (await handle.describe()).schedule.spec
    [cal] = spec.calendars
    assert ([r.start for r in cal.hour], [r.start for r in cal.minute]) == ([6], [45])
    assert spec.time_zone_name == "UTC" and len(cal.day_of_week) == 7

    # A schedule with escalator's prefix that is not escalator's: never deleted.
    await client.create_schedule(
        DECOY,
        Schedule(
            action=ScheduleActionStartWorkflow(
                "SomeoneElsesWorkflow", id="x", task_queue=task_queue
            ),
            spec=ScheduleSpec(),
            state=ScheduleState(paused=True),
        ),
    )

    # The digest is removed from the policy: the next start deletes its schedule. Listing is
    # eventually consistent, so wait until the server lists what the start must find.
    async def listed() -> bool:
        ids = {s.id async for s in await client.list_schedules()}
        return {INVENTORY, DECOY} <= ids

    await eventually(listed, within=30)
    policy_dir(tmp_path, {})
    lines = await _start_workers(settings, caplog)
    assert lines == [f"digest deleted schedule {INVENTORY}: role inventory has no digest"]
    with pytest.raises(RPCError) as gone:
        await handle.describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND
    await client.get_schedule_handle(DECOY).describe()  # still there


async def test_an_unreachable_temporal_is_retried_and_logged_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="escalator.digests")
    # Nothing listens on port 1: every call fails the way a Temporal that is down does.
    nowhere = await Client.connect("127.0.0.1:1", lazy=True)
    policies = load_policies([policy_dir(tmp_path, {"inventory": WAREHOUSE})])
    install = asyncio.create_task(
        install_digests_until_done(nowhere, lambda: policies, "tq", first_retry=0.01)
    )

    def warned_three_times() -> bool:
        return len([r for r in caplog.records if r.levelno == logging.WARNING]) >= 3

    await eventually(warned_three_times, within=60)
    assert not install.done()  # still trying, in the background
    install.cancel()
    first = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert first.getMessage().startswith("digest schedules not installed (attempt 1): ")
    assert "retrying in" in first.getMessage()


@pytest.mark.time_skipping_only
async def test_a_server_without_schedules_gives_up_once_with_an_error(
    temporal_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="escalator.digests")
    policies = load_policies([policy_dir(tmp_path, {"inventory": WAREHOUSE})])
    done = await install_digests_until_done(temporal_env.client, lambda: policies, "tq")
    assert done is None
    [error] = [r for r in caplog.records if r.name == "escalator.digests"]
    assert error.levelno == logging.ERROR and "has no schedules" in error.getMessage()


async def _cli_install(client: Client, policies: Path, task_queue: str) -> str:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "ESCALATOR_POLICY_DIR": str(policies),
    }
    proc = await asyncio.create_subprocess_exec(
        ESCALATOR, "digest", "install", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    # -6/134: the SDK's occasional abort at interpreter exit (temporalio/sdk-python#300), after the work.
    assert proc.returncode in (0, -6, 134), proc.returncode
    return out.decode()


async def test_digest_install_command_prints_what_it_changed(
    client: Client, tmp_path: Path
) -> None:
    task_queue = f"tq-{uuid.uuid4()}"
    policies = policy_dir(tmp_path, {"inventory": WAREHOUSE})
    first = await _cli_install(client, policies, task_queue)
    assert f"created schedule {INVENTORY}: 09:15 Europe/Amsterdam" in first
    again = await _cli_install(client, policies, task_queue)
    assert f"updated schedule {INVENTORY}: 09:15 Europe/Amsterdam" in again

    async def listed() -> bool:
        return INVENTORY in {s.id async for s in await client.list_schedules()}

    await eventually(listed, within=30)
    policy_dir(tmp_path, {})
    removed = await _cli_install(client, policies, task_queue)
    assert f"deleted schedule {INVENTORY}: role inventory has no digest" in removed
    assert "no role sets a digest" in removed
