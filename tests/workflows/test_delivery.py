"""Per-target delivery and background records (patch ``delivery-per-target``, issue 11):
a provider outage delays no escalation and loses no page; a records outage delays no
page and loses no step; one channel's failures never hold another's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from harness import Harness, has, steps, subject
from policy_factory import detection, make_policy
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from escalator.activities.channels import CapturingSender
from escalator.activities.playbook import InMemoryConditions
from escalator.activities.records import InMemoryRecorder
from escalator.activities.routing import always_page
from escalator.client import with_pydantic
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.activity_contracts import Delivery, Notification
from escalator.workflows.contracts import StepKind, TimelineStep

pytestmark = pytest.mark.temporal


@dataclass
class FlakySms(CapturingSender):
    """Answers like Twilio in an outage (HTTP 503, retryable) while ``down`` is set."""

    name: str = "sms"
    down: bool = True
    attempts: dict[str, list[int]] = field(default_factory=dict)

    async def send(self, message: Notification) -> Delivery:
        self.attempts.setdefault(message.idempotency_key, []).append(message.attempt)
        if self.down:
            return Delivery(
                ok=False,
                channel=message.channel,
                target=message.target,
                error="Twilio unavailable: HTTP 503",
                retryable=True,
            )
        return await super().send(message)


@dataclass
class DownRecorder(InMemoryRecorder):
    """The records database in an outage: every write fails while ``down`` is set."""

    down: bool = True
    refused: int = 0

    async def record_step(self, step: TimelineStep) -> None:
        if self.down:
            self.refused += 1
            raise ConnectionError("records database unreachable")
        await super().record_step(step)


@pytest.fixture
async def make_harness(
    temporal_env: WorkflowEnvironment, client: Client, unit: object
) -> AsyncIterator[Callable[..., Harness]]:
    made: list[tuple[Harness, object, asyncio.Task[None]]] = []

    def build(
        sms: CapturingSender | None = None, recorder: InMemoryRecorder | None = None
    ) -> Harness:
        task_queue = f"tq-{uuid.uuid4()}"
        slack = CapturingSender(name="slack")
        recorder = recorder or InMemoryRecorder()
        senders = {"slack": slack, "slack_dm": slack, "sms": sms or slack, "voice": slack}
        wiring = Wiring(
            recorder=recorder,
            senders=senders,
            fallback=slack,
            checker=InMemoryConditions(),
            decide=always_page,
        )
        worker = build_worker(client, task_queue, wiring)
        h = Harness(
            env=temporal_env,
            client=with_pydantic(client),
            task_queue=task_queue,
            unit=unit,  # type: ignore[arg-type]
            recorder=recorder,
            channel=slack,
            conditions=InMemoryConditions(),
        )
        made.append((h, worker, asyncio.create_task(worker.run())))
        return h

    yield build
    for h, worker, task in made:
        await h.close()
        await worker.shutdown()  # type: ignore[attr-defined]
        await task


async def test_an_sms_outage_holds_neither_slack_nor_the_next_level(
    make_harness: Callable[..., Harness],
) -> None:
    sms = FlakySms()
    h = make_harness(sms=sms)
    policy = make_policy(h.unit)  # level 1: slack + sms (3 units), level 2: slack
    eid = (await h.raise_(detection(subject()), policy)).exception_id

    # Slack is not held by the SMS back-off of the same level.
    await _eventually(lambda: any(n.level == 1 for n in h.channel.for_exception(eid)))
    assert sms.sent == []

    # The next level is paged on time although level 1's text is still being retried.
    # (The time-skipping server does not skip while an activity is retrying: skip here.)
    await h.advance(3.2)
    status = await h.until(eid, has(StepKind.ESCALATED), within=30)
    escalated = steps(status, StepKind.ESCALATED)[0]
    detected = steps(status, StepKind.DETECTED)[0]
    assert escalated.at - detected.at <= h.unit * 3 + h.slack * 2
    assert any(n.level == 2 and n.reason == "escalated" for n in h.channel.for_exception(eid))
    key = next(iter(sms.attempts))
    assert len(sms.attempts[key]) >= 2 and sms.sent == []  # retried, never given up

    # The provider recovers: the text goes out once, recorded as delivered on a retry.
    sms.down = False
    status = await h.until(
        eid,
        lambda s: any(
            e["channel"] == "sms" and e["ok"]
            for st in steps(s, StepKind.NOTIFIED)
            for e in st.detail["sent"]
        ),
        within=60,
    )
    assert len(sms.sent) == 1
    [entry] = [
        e
        for st in steps(status, StepKind.NOTIFIED)
        for e in st.detail["sent"]
        if e["channel"] == "sms"
    ]
    assert entry["attempts"] == sms.attempts[key][-1] >= 2
    assert entry["idempotency_key"] == key
    await h.save_history(eid, "delivery_per_target_sms_outage")


async def test_a_records_outage_delays_no_page_and_loses_no_step(
    make_harness: Callable[..., Harness],
) -> None:
    recorder = DownRecorder()
    h = make_harness(recorder=recorder)
    policy = make_policy(h.unit)
    eid = (await h.raise_(detection(subject()), policy)).exception_id

    await h.advance(3.2)  # the records activity is retrying: time does not skip by itself
    status = await h.until(eid, has(StepKind.ESCALATED), within=30)
    escalated = steps(status, StepKind.ESCALATED)[0]
    detected = steps(status, StepKind.DETECTED)[0]
    assert escalated.at - detected.at <= h.unit * 3 + h.slack * 2
    await _eventually(lambda: any(n.level == 2 for n in h.channel.for_exception(eid)))
    assert recorder.refused >= 1 and recorder.timeline(eid) == []

    recorder.down = False
    status = await h.status(eid)
    await _eventually(lambda: len(recorder.timeline(eid)) >= len(status.timeline), within=60)
    recorded = recorder.timeline(eid)
    assert sorted(s.seq for s in recorded) == list(range(1, len(recorded) + 1))
    assert {s.kind for s in recorded} >= {StepKind.DETECTED, StepKind.NOTIFIED, StepKind.ESCALATED}


async def _eventually(check: Callable[[], bool], within: float = 30) -> None:
    deadline = datetime.now(UTC).timestamp() + within
    while not check():
        if datetime.now(UTC).timestamp() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


async def test_a_message_stuck_in_an_outage_holds_no_continue_as_new_deadline(
    make_harness: Callable[..., Harness],
) -> None:
    """The history fills while level 1's text is retried through an outage: the run does
    not wait for it to continue as new -- every level is still paged on time -- and
    continues as new once the message got through (in-flight activities are not carried)."""
    sms = FlakySms()
    h = make_harness(sms=sms)
    policy = make_policy(h.unit, response=(2, 2), on_exhausted="repeat", ack_timeout=None)
    eid = (await h.raise_(detection(subject()), policy, history_limit=50)).exception_id
    first_run = (await h.handle(eid).describe()).run_id
    detected = None
    for n in range(1, 7):
        await h.advance(2.1)
        status = await h.until(eid, has(StepKind.ESCALATED, n), within=30)
        detected = detected or steps(status, StepKind.DETECTED)[0].at
        latest = steps(status, StepKind.ESCALATED)[-1]
        assert latest.at - detected <= h.unit * (2 * n) + h.slack * (2 * n)
    assert sms.sent == []  # still in the outage: nothing given up, nothing waited for
    sms.down = False
    await _eventually(lambda: len(sms.sent) >= 1, within=90)
    await h.advance(2.1)  # the next wake finds the outbox empty: now it continues as new
    for _ in range(100):
        if (await h.handle(eid).describe()).run_id != first_run:
            break
        await asyncio.sleep(0.1)
    assert (await h.handle(eid).describe()).run_id != first_run
    keys = [s.notification.idempotency_key for s in sms.sent]
    assert len(keys) == len(set(keys))  # each text once
