"""Storm control harness: a real worker (escalations + storms) on a fresh task queue,
in-memory records and a capturing channel, on the session's Temporal server.

Each test module makes ``storm_harness_fixture`` its fixture. There is no
conftest.py here: tests/workflows imports its own ``conftest`` by name, and a
second module of that name could shadow it."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).parent.parent / "workflows"))

from policy_factory import make_policy

from escalator.activities.channels import CapturingSender
from escalator.activities.oncall import Changes, no_changes
from escalator.activities.records import InMemoryRecorder
from escalator.activities.routing import Decide, always_page
from escalator.client import with_pydantic
from escalator.policies.snapshot import ExceptionPolicy
from escalator.policies.storm import StormControl
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.contracts import StepKind
from escalator.workflows.storm_contracts import StormInput, StormMember

HISTORIES = Path(__file__).parent.parent / "histories"


def storm_policy(
    *,
    threshold: int,
    window: timedelta = timedelta(minutes=5),
    hold_down: timedelta | None = timedelta(minutes=10),
    response: float = 60,
    reopen_window: float = 60,
) -> ExceptionPolicy:
    """The workflow tests' policy (units of a minute), level 1 on Slack only, storm control on."""
    base = make_policy(
        timedelta(minutes=1), response=(response, response), reopen_window=reopen_window
    )
    levels = list(base.escalation.levels)
    levels[0] = levels[0].model_copy(update={"channels": ["slack"]})
    control = StormControl(
        threshold=threshold, window=window, hold_down=hold_down, update_every=timedelta(seconds=1)
    )
    escalation = base.escalation.model_copy(update={"levels": levels, "storm": control})
    return base.model_copy(update={"escalation": escalation})


def capturing_wiring(channel: CapturingSender) -> Wiring:
    """A worker's wiring with every channel captured, in-memory records, routing page."""
    return Wiring(
        recorder=InMemoryRecorder(),
        senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
        fallback=channel,
        decide=always_page,
    )


def gate_storm(threshold: int) -> StormInput:
    """The storm the gate tests register with: an hour's window, no escalation meanwhile."""
    policy = storm_policy(threshold=threshold, window=timedelta(hours=1), response=600)
    return StormInput(
        journey="orderToShip", rule="awaiting_inventory", role="inventory", policy=policy
    )


def numbered_member(n: int) -> StormMember:
    """Member ``n`` of a gate test: one order each, detected a second apart."""
    t0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    return StormMember(
        exception_id=f"exc:orderToShip:awaiting_inventory:order-{n:05d}",
        subject=f"order-{n:05d}",
        onset=t0,
        detected_at=t0 + timedelta(seconds=n),
    )


@dataclass
class StormHarness:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    recorder: InMemoryRecorder
    channel: CapturingSender
    workflow_ids: set[str] = field(default_factory=set)

    def sends(self, reason: str) -> list[Any]:
        """New messages (not in-place updates) of one reason."""
        return [s for s in self.channel.sent if s.notification.reason == reason and not s.updated]

    def storm_messages(self) -> list[Any]:
        return [s for s in self.channel.sent if s.notification.reason == "storm"]

    def recorded(self, kind: StepKind) -> set[str]:
        return {s.exception_id for s in self.recorder.steps.values() if s.kind is kind}

    async def eventually(self, check: Callable[[], bool], within: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.05)

    async def terminate(self, ids: Iterable[str]) -> None:
        """End what the test started: a timer left on an unpolled queue holds the skipped clock."""

        async def one(wid: str) -> None:
            with contextlib.suppress(RPCError):
                await self.client.get_workflow_handle(wid).terminate("test finished")

        ids = list(ids)
        for i in range(0, len(ids), 100):
            await asyncio.gather(*(one(w) for w in ids[i : i + 100]))


async def storm_harness_fixture(
    temporal_env: WorkflowEnvironment, client: Client
) -> AsyncIterator[Callable[..., Awaitable[StormHarness]]]:
    started: list[tuple[Any, asyncio.Task[None], StormHarness]] = []

    async def make(
        decide: Decide = always_page, oncall_changes: Changes = no_changes, **worker_options: Any
    ) -> StormHarness:
        """``decide``: the routing decision (a fixed one, or a Router); paging by default.
        ``oncall_changes``: the overrides and vacations (none by default)."""
        task_queue = f"tq-{uuid.uuid4()}"
        channel, recorder = CapturingSender(), InMemoryRecorder()
        wiring = Wiring(
            recorder=recorder,
            senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
            fallback=channel,
            decide=decide,
            oncall_changes=oncall_changes,
        )
        worker = build_worker(client, task_queue, wiring, **worker_options)
        task = asyncio.create_task(worker.run())
        made = StormHarness(temporal_env, with_pydantic(client), task_queue, recorder, channel)
        started.append((worker, task, made))
        return made

    yield make
    for worker, task, made in started:
        # The worker goes first: it finishes the activities it runs, so none is in flight
        # when its workflow is terminated (the time-skipping test server then keeps time
        # locked for good: the next test's env.sleep hung, ~1 run in 10 under load).
        await worker.shutdown()
        await task
        await made.terminate(made.workflow_ids)
