"""The grouped message has a page's delivery guarantees (patch
``storm-delivery-per-target``): one background ``deliver`` activity per target, retried
until the provider answers, never sent twice, and the storm loop never waits on it.

Before it, the grouped message went out in one ``notify`` activity of five attempts: a
provider outage of more than a few seconds lost the storm's page until the next member
happened to join. Real worker, time-skipping server. With ESCALATOR_RECORD_HISTORIES=1
the storm's history is saved for the replay test.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from storm_helpers import HISTORIES, StormHarness, storm_harness_fixture, storm_policy

from escalator.client import raise_exception
from escalator.workflows.activity_contracts import Delivery, Notification
from escalator.workflows.contracts import Detection, StepKind
from escalator.workflows.storm_contracts import StormState, storm_id

storm_harness = pytest.fixture(storm_harness_fixture)
pytestmark = [pytest.mark.temporal, pytest.mark.time_skipping_only]

RECORD = os.environ.get("ESCALATOR_RECORD_HISTORIES") == "1"
SID = storm_id("orderToShip", "awaiting_inventory", "inventory")
OUTAGE_ATTEMPTS = 7  # more than the five the old notify activity had


def eid(subject: str) -> str:
    return f"exc:orderToShip:awaiting_inventory:{subject}"


async def test_the_grouped_message_is_delivered_after_an_outage_once(storm_harness) -> None:
    h: StormHarness = await storm_harness()
    capture = h.channel.send
    refused: list[tuple[str, int]] = []

    async def slack_down(message: Notification) -> Delivery:
        """Slack answers 503 to the storm's first OUTAGE_ATTEMPTS tries (Retry-After 0.1 s,
        so the test does not wait out the back-off), then accepts."""
        if message.reason == "storm" and len(refused) < OUTAGE_ATTEMPTS:
            refused.append((message.idempotency_key, message.attempt))
            return Delivery(
                ok=False,
                channel=message.channel,
                target=message.target,
                error="Slack unavailable: HTTP 503",
                retryable=True,
                retry_after=0.1,
            )
        return await capture(message)

    h.channel.send = slack_down  # type: ignore[method-assign]
    subjects = [f"d-{i}" for i in range(4)]  # threshold 2: d-2, d-3 are grouped
    h.workflow_ids.update([SID, *map(eid, subjects)])
    for i, s in enumerate(subjects):
        onset = datetime(2026, 3, 2, 7, 0, tzinfo=UTC) + timedelta(minutes=i)
        detection = Detection(
            journey="orderToShip", rule="awaiting_inventory", subject=s, onset=onset
        )
        await raise_exception(
            h.client, detection, policy=storm_policy(threshold=2), task_queue=h.task_queue
        )
    await h.eventually(lambda: h.recorded(StepKind.GROUPED) >= {eid("d-2"), eid("d-3")})

    await h.eventually(lambda: len(h.sends("storm")) == 1, within=60)
    # One activity retried through the outage (attempts 1..7 under one idempotency key),
    # not a new message per try.
    assert len({key for key, _ in refused}) == 1
    assert [attempt for _, attempt in refused] == list(range(1, OUTAGE_ATTEMPTS + 1))
    page = h.sends("storm")[0].notification
    assert page.idempotency_key == refused[0][0] and page.attempt == OUTAGE_ATTEMPTS + 1
    assert page.run_id is not None and page.status.payload["count"] == 2

    # The storm keeps the message it paged (later updates edit it) and pages nobody twice.
    state = await h.client.get_workflow_handle(SID).query("state", result_type=StormState)
    assert list(state.messages) == ["inventory|slack|#inventory"]
    await h.env.sleep(timedelta(minutes=2))
    assert len(h.sends("storm")) == 1
    if RECORD:  # replayed by tests/storm/test_storm_behaviour.py
        history = await h.client.get_workflow_handle(SID).fetch_history()
        path = HISTORIES / "storm" / "storm_delivery_outage.json"
        await asyncio.to_thread(path.write_text, history.to_json())


async def test_edits_queued_behind_an_outage_coalesce_into_the_newest(storm_harness) -> None:
    """Members who join while Slack refuses the edit of the grouped message each queue an
    update of it; when Slack is back, only the update being retried and the newest go out
    (each is rendered at its turn, so the newest shows every member). Without coalescing
    every queued update would be sent, one after another."""
    h: StormHarness = await storm_harness()
    capture = h.channel.update
    slack_up = asyncio.Event()
    slack_up.set()
    refused: set[str] = set()

    async def edits_refused(message: Notification, provider_message_id: str) -> Delivery:
        if message.reason == "storm" and not slack_up.is_set():
            refused.add(message.idempotency_key)
            return Delivery(
                ok=False,
                channel=message.channel,
                target=message.target,
                error="Slack unavailable: HTTP 503",
                retryable=True,
                retry_after=0.1,
            )
        return await capture(message, provider_message_id)

    h.channel.update = edits_refused  # type: ignore[method-assign]
    subjects = [f"c-{i}" for i in range(7)]  # threshold 2: c-2 .. c-6 are grouped
    h.workflow_ids.update([SID, *map(eid, subjects)])
    policy = storm_policy(threshold=2)

    async def join(i: int) -> None:
        onset = datetime(2026, 3, 2, 7, 0, tzinfo=UTC) + timedelta(minutes=i)
        detection = Detection(
            journey="orderToShip", rule="awaiting_inventory", subject=subjects[i], onset=onset
        )
        await raise_exception(h.client, detection, policy=policy, task_queue=h.task_queue)
        if i >= 2:
            await h.eventually(lambda: eid(subjects[i]) in h.recorded(StepKind.GROUPED))

    for i in range(3):
        await join(i)
    await h.eventually(lambda: len(h.sends("storm")) == 1)  # the page, c-2 in it
    slack_up.clear()
    await join(3)
    await h.eventually(lambda: len(refused) == 1)  # the update for c-3, being retried
    for i in range(4, 7):  # each its own update: joined after the last one was queued
        await h.env.sleep(timedelta(seconds=3))
        await join(i)
    await h.env.sleep(timedelta(seconds=3))
    state = await h.client.get_workflow_handle(SID).query("state", result_type=StormState)
    assert state.sent >= 5  # the page and an update per joiner were queued
    assert len(refused) == 1  # the queued ones wait behind the one being retried

    slack_up.set()
    await h.eventually(lambda: h.storm_messages()[-1].notification.status.payload["count"] == 5)
    await h.env.sleep(timedelta(seconds=3))
    edits = [s.notification for s in h.storm_messages() if s.updated]
    assert [e.idempotency_key in refused for e in edits] == [True, False]
    assert edits[-1].status.payload["count"] == 5
