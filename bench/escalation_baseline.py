"""The baselines of bench_escalation.py: BaselineWorkflow has the escalation's activity count
and update points, none of its logic; MinimalWorkflow has one activity and one update, the
least a workflow answering an owner does. Their own module so the workflow sandbox can
import it cheaply."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta

from temporalio import activity, workflow

# The driver waits on these the way it waits for the escalation's first page.
PAGED: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)


@activity.defn(name="bench.noop")
async def noop(page: bool) -> int:
    if page:
        # Run by BaselineWorkflow, so there is a workflow id (None only for a standalone activity)
        workflow_id = activity.info().workflow_id
        assert workflow_id is not None
        PAGED[workflow_id].set()
    return 1


@workflow.defn(name="BaselineWorkflow")
class BaselineWorkflow:
    def __init__(self) -> None:
        self.gates = {"acked": False, "resolved": False}

    @workflow.run
    async def run(self, shape: list[int]) -> int:
        done = 0
        for count, gate in zip(shape, ("acked", "resolved", None), strict=True):
            for i in range(count):
                page = gate == "acked" and i == count - 1
                done += await workflow.execute_activity(
                    noop, page, start_to_close_timeout=timedelta(seconds=30)
                )
            if gate:
                await workflow.wait_condition(lambda g=gate: self.gates[g])  # type: ignore[misc]
        return done

    @workflow.update
    def started(self, _: int) -> int:
        return 0

    @workflow.update
    def ack(self, _: int) -> int:
        self.gates["acked"] = True
        return 0

    @workflow.update
    def resolve(self, _: int) -> int:
        self.gates["resolved"] = True
        return 0


@workflow.defn(name="MinimalWorkflow")
class MinimalWorkflow:
    """Started, runs one activity (which "pages", as the escalation's first page does), then
    completes once its one update has come."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self) -> int:
        done = await workflow.execute_activity(
            noop, True, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.wait_condition(lambda: self.finished)
        return done

    @workflow.update
    def finish(self, _: int) -> int:
        self.finished = True
        return 0
