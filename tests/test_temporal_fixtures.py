"""The Temporal fixtures start a real server with escalator's search attributes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from escalator.workflows.search_attributes import JOURNEY, LEVEL

pytestmark = pytest.mark.temporal


@workflow.defn(sandboxed=False)
class _SleepThenTag:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(timedelta(seconds=seconds))
        workflow.upsert_search_attributes([LEVEL.value_set(2)])
        return "slept"


async def test_server_runs_workflows_and_knows_search_attributes(
    client: Client, task_queue: str, temporal_env: WorkflowEnvironment
) -> None:
    # Two hours on the time-skipping server; a real second on the dev server.
    seconds = 7200.0 if temporal_env.supports_time_skipping else 1.0
    async with Worker(client, task_queue=task_queue, workflows=[_SleepThenTag]):
        handle = await client.start_workflow(
            _SleepThenTag.run,
            seconds,
            id=f"fixture-{uuid.uuid4()}",
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes([SearchAttributePair(JOURNEY, "orderToShip")]),
            execution_timeout=timedelta(hours=3),
        )
        assert await handle.result() == "slept"
        described = await handle.describe()
        assert described.typed_search_attributes.get(JOURNEY) == "orderToShip"
        assert described.typed_search_attributes.get(LEVEL) == 2
