"""The escalation-scenario harness: a real worker on a fresh task queue, wired to the
in-memory recorder and a capturing channel. Imported by the workflow tests (and the
fixtures in conftest.py); a module of its own, so no test imports a `conftest`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from escalator.activities.channels import CapturingSender
from escalator.activities.playbook import InMemoryConditions
from escalator.activities.records import InMemoryRecorder
from escalator.client import Raised, raise_exception
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.activity_contracts import Notification
from escalator.workflows.contracts import (
    Detection,
    ExceptionStatus,
    StepKind,
    TimelineStep,
    UpdateResult,
)

HISTORIES = Path(__file__).parent.parent / "histories"
RECORD = os.environ.get("ESCALATOR_RECORD_HISTORIES") == "1"
T = TypeVar("T")
PAGES = {"first", "escalated", "reminder", "reverted", "reassigned", "broadcast", "repeat"}


@dataclass
class Harness:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    unit: timedelta
    recorder: InMemoryRecorder
    channel: CapturingSender
    conditions: InMemoryConditions
    # Slack between two scheduled events: generous on the dev server (shared CPU).
    slack: timedelta = field(default=timedelta(seconds=1))

    started: set[str] = field(default_factory=set)

    async def raise_(
        self, detection: Detection, policy: ExceptionPolicy, history_limit: int | None = None
    ) -> Raised:
        before: str | None = None
        with contextlib.suppress(RPCError):  # no run yet: a new exception
            before = (await self.handle(detection.workflow_id).describe()).run_id
        raised = await raise_exception(
            self.client,
            detection,
            policy=policy,
            task_queue=self.task_queue,
            history_limit=history_limit,
        )
        self.started.add(raised.exception_id)
        if raised.outcome == "reopened" and before is not None:
            await self.new_run_ready(raised.exception_id, before)
        return raised

    async def new_run_ready(self, exception_id: str, old_run: str) -> None:
        """Wait, without querying, until the run after ``old_run`` has finished its first
        workflow task: on the time-skipping server a query that reaches a run started by
        continue-as-new (a reopen) before that can hang, and hold the clock for later tests."""
        handle = self.handle(exception_id)
        for _ in range(400):
            if (await handle.describe()).run_id != old_run:
                events = (await handle.fetch_history()).events
                if any(e.HasField("workflow_task_completed_event_attributes") for e in events):
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{exception_id}: no new run after {old_run}")

    async def close(self) -> None:
        """End this test's exceptions once their activities are done. On the time-skipping
        server a timer left on a task queue nobody polls, or an activity finishing after
        its workflow was terminated, holds the clock for every later test."""
        for exception_id in self.started:
            handle = self.handle(exception_id)
            with contextlib.suppress(RPCError):
                quiet, last = 0, -1
                for _ in range(200):  # idle = nothing pending and history unchanged 3 times
                    described = await handle.describe()
                    raw = described.raw_description
                    busy = raw.pending_activities or raw.HasField("pending_workflow_task")
                    quiet = 0 if busy or described.history_length != last else quiet + 1
                    last = described.history_length
                    if quiet >= 3:
                        break
                    await asyncio.sleep(0.03)
                await handle.terminate("test finished")

    def handle(self, exception_id: str) -> WorkflowHandle[Any, ExceptionStatus]:
        return self.client.get_workflow_handle(exception_id, result_type=ExceptionStatus)

    async def update(self, exception_id: str, name: str, inp: Any) -> UpdateResult:
        return await self.handle(exception_id).execute_update(name, inp, result_type=UpdateResult)

    async def status(self, exception_id: str) -> ExceptionStatus:
        """The status query, once the current run has finished its first workflow task: on
        the time-skipping server a query that reaches a run just started by continue-as-new
        can hang and hold the clock (see ``new_run_ready``)."""
        handle = self.handle(exception_id)
        for _ in range(200):
            events = (await handle.fetch_history()).events
            if any(e.HasField("workflow_task_completed_event_attributes") for e in events):
                break
            await asyncio.sleep(0.05)
        return await handle.query("status", result_type=ExceptionStatus)

    async def until(
        self, exception_id: str, check: Callable[[ExceptionStatus], bool], within: float = 15
    ) -> ExceptionStatus:
        """Poll the status query until ``check`` holds (no blind sleeps)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            status = await self.status(exception_id)
            if check(status):
                return status
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not reached; last status: {summary(status)}")
            await asyncio.sleep(0.05)

    async def advance(self, units: float) -> None:
        """Let ``units`` of workflow time pass (skipped on the test server, real on dev)."""
        await self.env.sleep(self.unit * units)

    def pages(self, exception_id: str) -> list[Notification]:
        return [n for n in self.channel.for_exception(exception_id) if n.reason in PAGES]

    async def pages_for(
        self, exception_id: str, reason: str, count: int = 1, within: float = 15
    ) -> list[Notification]:
        """The pages sent for ``reason`` once ``count`` have arrived: the workflow marks a
        role notified when it schedules the delivery, before the channel has the page."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = [n for n in self.pages(exception_id) if n.reason == reason]
            if len(found) >= count or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.05)

    async def save_history(self, exception_id: str, name: str) -> None:
        """With ESCALATOR_RECORD_HISTORIES=1, keep this run's history for the replay test."""
        if not RECORD:
            return
        history = await self.handle(exception_id).fetch_history()
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(history.to_json())


def summary(status: ExceptionStatus) -> str:
    kinds = [s.kind.value for s in status.timeline]
    return f"state={status.state} level={status.level} exhausted={status.exhausted} steps={kinds}"


def steps(status: ExceptionStatus, kind: StepKind) -> list[TimelineStep]:
    return [s for s in status.timeline if s.kind is kind]


def has(kind: StepKind, n: int = 1) -> Callable[[ExceptionStatus], bool]:
    return lambda s: len(steps(s, kind)) >= n


def subject() -> str:
    return f"order-{uuid.uuid4().hex[:8]}"
