"""Fixtures for the escalation scenarios (the harness itself is in harness.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest
from harness import Harness
from temporal_servers import dev_server_fixture
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from escalator.activities.channels import CapturingSender
from escalator.activities.oncall import Changes, no_changes
from escalator.activities.playbook import Action, InMemoryConditions
from escalator.activities.records import InMemoryRecorder
from escalator.activities.routing import Decide, always_page
from escalator.client import with_pydantic
from escalator.worker.main import Wiring, build_worker


@pytest.fixture(scope="module")
def unit(temporal_env: WorkflowEnvironment) -> timedelta:
    """One policy time unit: a minute when time skips, a second on the real-time dev server."""
    return timedelta(minutes=1) if temporal_env.supports_time_skipping else timedelta(seconds=1)


# A dev server of its own, whatever --workflow-environment says: for the CLI
# (`list` needs visibility) and the worker process tests.
dev_server = pytest.fixture(dev_server_fixture, scope="session", name="dev_server")


@pytest.fixture
async def harness_factory(
    temporal_env: WorkflowEnvironment, client: Client, unit: timedelta
) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    workers: list[Any] = []
    harnesses: list[Harness] = []

    async def make(
        actions: Mapping[str, Action] | None = None,
        decide: Decide | None = None,
        oncall_changes: Changes | None = None,
    ) -> Harness:
        task_queue = f"tq-{uuid.uuid4()}"
        channel = CapturingSender()
        conditions = InMemoryConditions()
        recorder = InMemoryRecorder()
        wiring = Wiring(
            recorder=recorder,
            senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
            fallback=channel,
            actions=dict(actions or {}),
            checker=conditions,
            decide=decide or always_page,
            oncall_changes=oncall_changes or no_changes,
        )
        worker = build_worker(client, task_queue, wiring)
        workers.append(worker)
        task = asyncio.create_task(worker.run())
        workers.append(task)
        made = Harness(
            env=temporal_env,
            client=with_pydantic(client),
            task_queue=task_queue,
            unit=unit,
            recorder=recorder,
            channel=channel,
            conditions=conditions,
            slack=timedelta(seconds=0.5 if temporal_env.supports_time_skipping else 1.0),
        )
        harnesses.append(made)
        return made

    yield make
    for made in harnesses:
        await made.close()
    for item in workers:
        if not isinstance(item, asyncio.Task):
            await item.shutdown()
    for item in workers:
        if isinstance(item, asyncio.Task):
            await item


@pytest.fixture
async def harness(harness_factory: Callable[..., Awaitable[Harness]]) -> Harness:
    return await harness_factory()
