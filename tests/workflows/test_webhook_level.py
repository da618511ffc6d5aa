"""An escalation level naming ``webhook:NAME`` delivers signed JSON to that tool, through
the real deliver activity on a real Temporal server: a refused first attempt is retried
by Temporal with the same idempotency key, and the tool acts on it once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from fakes.server import Fault
from fakes.webhook_receiver import FakeWebhookReceiver
from harness import Harness, steps, subject
from policy_factory import detection, make_policy
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from escalator.activities.channels import CapturingSender
from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.activities.playbook import InMemoryConditions
from escalator.activities.records import InMemoryRecorder
from escalator.activities.routing import always_page
from escalator.activities.webhook_sender import WebhookSender
from escalator.client import with_pydantic
from escalator.policies.snapshot import ExceptionPolicy
from escalator.policies.webhooks import Webhook
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.contracts import ExceptionStatus, StepKind

pytestmark = pytest.mark.temporal
SECRET = "whsec-level-test-5d1e"


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    fake = FakeWebhookReceiver(SECRET).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
async def hooked(
    temporal_env: WorkflowEnvironment,
    client: Client,
    unit: object,
    receiver: FakeWebhookReceiver,
) -> AsyncIterator[Harness]:
    task_queue = f"tq-{uuid.uuid4()}"
    slack = CapturingSender(name="slack")
    webhooks = WebhookSender(
        {"ticketing": Webhook(name="ticketing", url=receiver.url)},
        {"ticketing": SECRET},
        InMemoryLedger(),
    )
    recorder = InMemoryRecorder()
    wiring = Wiring(
        recorder=recorder,
        senders={"slack": slack, "slack_dm": slack, "sms": slack, "webhook": webhooks},
        fallback=slack,
        checker=InMemoryConditions(),
        decide=always_page,
    )
    worker = build_worker(client, task_queue, wiring)
    task = asyncio.create_task(worker.run())
    h = Harness(
        env=temporal_env,
        client=with_pydantic(client),
        task_queue=task_queue,
        unit=unit,  # type: ignore[arg-type]
        recorder=recorder,
        channel=slack,
        conditions=InMemoryConditions(),
    )
    yield h
    await h.close()
    await worker.shutdown()
    await task
    await webhooks.close()


def with_webhook_level(policy: ExceptionPolicy) -> ExceptionPolicy:
    levels = list(policy.escalation.levels)
    levels[0] = levels[0].model_copy(update={"channels": ["slack", "webhook:ticketing"]})
    return policy.model_copy(
        update={"escalation": policy.escalation.model_copy(update={"levels": levels})}
    )


async def test_a_level_naming_a_webhook_delivers_signed_json_once(
    hooked: Harness, receiver: FakeWebhookReceiver
) -> None:
    receiver.inject("hook", Fault(status=503))  # the tool is down for the first attempt
    policy = with_webhook_level(make_policy(hooked.unit))
    eid = (await hooked.raise_(detection(subject()), policy)).exception_id

    def delivered(s: ExceptionStatus) -> bool:
        return any(
            e["channel"] == "webhook" and e["ok"]
            for st in steps(s, StepKind.NOTIFIED)
            for e in st.detail["sent"]
        )

    status = await hooked.until(eid, delivered, within=60)
    [entry] = [
        e
        for st in steps(status, StepKind.NOTIFIED)
        for e in st.detail["sent"]
        if e["channel"] == "webhook"
    ]
    assert (entry["target"], entry["role"], entry["reason"]) == ("ticketing", "inventory", "first")
    assert entry["attempts"] == 2 and entry["provider_message_id"] == "T-1"
    # Both attempts reached the tool signed (nothing refused) with the workflow's key.
    key = entry["idempotency_key"]
    assert key.startswith(f"{eid}/") and key.endswith("/webhook/ticketing")
    assert [r.key for r in receiver.received] == [key, key]
    assert receiver.refused == [] and list(receiver.by_key) == [key]
    event = receiver.by_key[key].event
    assert (event["event"], event["exception_id"], event["level"]) == ("first", eid, 1)
    # Slack on the same level went out too, unaffected by the webhook's retry.
    assert any(n.channel == "slack" and n.level == 1 for n in hooked.channel.for_exception(eid))
