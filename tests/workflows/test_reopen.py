"""Detections of a resolved exception: what the reopened run starts from.

Patches ``reopen-counts-all`` (several detections before the resolved run ends all
count, the first keeps its onset) and ``reopen-signal-carries`` (the occurred_again
signal reopens with the policy and history limit it carries, else the run's own).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from harness import HISTORIES, RECORD, Harness, has, steps, subject
from policy_factory import detection, make_policy
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from escalator.activities.channels import CapturingSender
from escalator.activities.playbook import InMemoryConditions
from escalator.activities.records import InMemoryRecorder
from escalator.activities.routing import always_page
from escalator.client import raise_exception, with_pydantic
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.contracts import (
    AcknowledgeInput,
    EscalationInput,
    ExceptionState,
    ExceptionStatus,
    OccurredAgain,
    ResolveInput,
    StepKind,
)

pytestmark = pytest.mark.temporal

LIMIT = 400  # not the default (2000): the reopened run must keep it


@contextlib.asynccontextmanager
async def running_worker(
    client: Client, task_queue: str, channel: CapturingSender
) -> AsyncIterator[None]:
    wiring = Wiring(
        recorder=InMemoryRecorder(),
        senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
        fallback=channel,
        actions={},
        checker=InMemoryConditions(),
        decide=always_page,
    )
    # No workflow cache, so no sticky task queue: a workflow task scheduled after this
    # worker stopped goes straight to the next worker (not after the sticky timeout,
    # which on the time-skipping server only passes when the clock is skipped).
    async with build_worker(client, task_queue, wiring, max_cached_workflows=0):
        yield


async def _status(client: Client, eid: str) -> ExceptionStatus:
    return await client.get_workflow_handle(eid).query("status", result_type=ExceptionStatus)


async def _until(client: Client, eid: str, check, within: float = 20) -> ExceptionStatus:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        with contextlib.suppress(Exception):  # a run that just started may not answer yet
            status = await _status(client, eid)
            if check(status):
                return status
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{eid}: condition not reached")
        await asyncio.sleep(0.1)


async def _idle(client: Client, eid: str) -> None:
    """Nothing pending: the worker can stop without leaving a task half done."""
    handle = client.get_workflow_handle(eid)
    for _ in range(200):
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        await asyncio.sleep(0.05)


async def _new_run_ready(client: Client, eid: str, old_run: str) -> None:
    """As Harness.new_run_ready: no query before the reopened run's first workflow task
    (on the time-skipping server such a query can hang)."""
    handle = client.get_workflow_handle(eid)
    for _ in range(400):
        if (await handle.describe()).run_id != old_run:
            events = (await handle.fetch_history()).events
            if any(e.HasField("workflow_task_completed_event_attributes") for e in events):
                return
        await asyncio.sleep(0.05)
    events = (await handle.fetch_history()).events
    kinds = [e.event_type for e in events][-12:]
    raise AssertionError(f"{eid}: no new run after {old_run}: {kinds}")


async def _save_run(client: Client, eid: str, run_id: str, name: str) -> None:
    """With ESCALATOR_RECORD_HISTORIES=1, keep the resolved run that reopened (its
    continue-as-new carries what the patches changed) for the replay test."""
    if RECORD:
        history = await client.get_workflow_handle(eid, run_id=run_id).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json())


async def _started_input(client: Client, eid: str) -> EscalationInput:
    history = await client.get_workflow_handle(eid).fetch_history()
    payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    [inp] = await pydantic_data_converter.decode([payload], [EscalationInput])
    assert isinstance(inp, EscalationInput)
    return inp


async def test_two_detections_in_one_reopen_window_both_count(
    temporal_env: WorkflowEnvironment, client: Client, task_queue: str, unit: timedelta
) -> None:
    """Both detections reach the resolved run in one workflow task (its worker was down
    while they came, so they wait together): the reopened run counts two occurrences and
    keeps the first onset. Signals, because two updates are handed to a run one workflow
    task at a time when its worker comes back (seen here), which hides the race; a busy
    worker meets it with updates too."""
    client = with_pydantic(client)
    channel = CapturingSender()
    policy = make_policy(unit, reopen_window=30)
    case = subject()
    first = detection(case)
    async with running_worker(client, task_queue, channel):
        eid = (
            await raise_exception(
                client, first, policy=policy, task_queue=task_queue, history_limit=LIMIT
            )
        ).exception_id
        await _until(client, eid, has(StepKind.NOTIFIED))
        handle = client.get_workflow_handle(eid)
        await handle.execute_update("acknowledge", AcknowledgeInput(actor="alice"))
        await handle.execute_update("resolve", ResolveInput(actor="alice", note="restocked"))
        await _until(client, eid, lambda s: s.state is ExceptionState.RESOLVED)
        await _idle(client, eid)
    old_run = (await client.get_workflow_handle(eid).describe()).run_id

    second = first.model_copy(
        update={"onset": first.onset + timedelta(minutes=10), "payload": {"waiting_for": "sku-43"}}
    )
    third = first.model_copy(
        update={"onset": first.onset + timedelta(minutes=20), "payload": {"waiting_for": "sku-44"}}
    )

    handle = client.get_workflow_handle(eid)
    await handle.signal("occurred_again", OccurredAgain(detection=second))
    await handle.signal("occurred_again", OccurredAgain(detection=third))
    async with running_worker(client, task_queue, channel):
        await _new_run_ready(client, eid, old_run)
        status = await _until(client, eid, has(StepKind.NOTIFIED))
        assert status.occurrences == 2  # neither detection lost
        assert status.onset == second.onset  # the first to arrive keeps its onset
        assert status.payload == {"waiting_for": "sku-44"}  # the latest one's
        detected = steps(status, StepKind.DETECTED)[0]
        assert detected.detail["occurrences"] == 2
        assert detected.detail["onset"] == second.onset.isoformat()
        assert steps(status, StepKind.REOPENED)[0].detail["reopened_from"] == old_run
        reopened = await _started_input(client, eid)
        assert reopened.history_limit == LIMIT
        await _save_run(client, eid, old_run, "reopen_counts_all")
        # A retried call of either detection is no new occurrence in the reopened run.
        retry = await raise_exception(client, third, policy=policy, task_queue=task_queue)
        assert (retry.outcome, retry.occurrences) == ("duplicate", 2)
        await _idle(client, eid)
        await client.get_workflow_handle(eid).terminate("test finished")


async def test_occurred_again_signal_reopens_with_the_runs_policy_and_limit(
    harness: Harness,
) -> None:
    h = harness
    case = subject()
    v1 = make_policy(h.unit, reopen_window=30)
    eid = (await h.raise_(detection(case), v1, history_limit=LIMIT)).exception_id
    await h.until(eid, has(StepKind.NOTIFIED))
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice"))
    await h.update(eid, "resolve", ResolveInput(actor="alice", note="restocked"))
    await h.until(eid, lambda s: s.state is ExceptionState.RESOLVED)
    old_run = (await h.handle(eid).describe()).run_id

    # Without a policy: the run's own policy and history limit, not the defaults.
    again = detection(case, waiting_for="sku-77")
    await h.handle(eid).signal("occurred_again", OccurredAgain(detection=again))
    await h.new_run_ready(eid, old_run)
    reopened = await _started_input(h.client, eid)
    assert reopened.history_limit == LIMIT
    assert reopened.policy.version == "v1" and reopened.reopened_from == old_run
    await _save_run(h.client, eid, old_run, "reopen_signal_carries")
    status = await h.until(eid, lambda s: s.state is ExceptionState.OPEN and s.level == 1)
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice"))
    await h.update(eid, "resolve", ResolveInput(actor="alice", note="restocked again"))
    await h.until(eid, lambda s: s.state is ExceptionState.RESOLVED)
    second_run = (await h.handle(eid).describe()).run_id

    # With the detector's latest policy: that one, as the update path does.
    v2 = make_policy(h.unit, version="v2", reopen_window=30)
    later = detection(case, waiting_for="sku-78")
    await h.handle(eid).signal(
        "occurred_again", OccurredAgain(detection=later, policy=v2, history_limit=LIMIT + 100)
    )
    await h.new_run_ready(eid, second_run)
    reopened = await _started_input(h.client, eid)
    assert (reopened.policy.version, reopened.history_limit) == ("v2", LIMIT + 100)
    status = await h.until(eid, lambda s: s.policy_version == "v2" and s.level == 1)
    assert steps(status, StepKind.REOPENED)[0].detail["rework_count"] == 2
