"""An escalation level naming ``webhook:NAME`` delivers signed JSON to that tool, through
the real deliver activity on a real Temporal server: a refused first attempt is retried
by Temporal with the same idempotency key, and the tool acts on it once. A webhook that
was paged also hears the acknowledgement, a snooze, a reassignment and the resolution
(patch ``webhook-updates``); a run without webhooks schedules nothing more than before."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

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
from escalator.workflows.activity_contracts import ACTIVITY_DELIVER
from escalator.workflows.constants import WEBHOOK_UPDATES
from escalator.workflows.contracts import (
    AcknowledgeInput,
    ExceptionState,
    ExceptionStatus,
    ReassignInput,
    ResolveInput,
    SnoozeInput,
    StepKind,
)

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


def _webhook_sent(s: ExceptionStatus) -> list[dict]:
    return [
        e
        for st in steps(s, StepKind.NOTIFIED)
        for e in st.detail["sent"]
        if e["channel"] == "webhook"
    ]


async def test_a_paged_webhook_hears_the_acknowledgement_and_the_resolution_once_each(
    hooked: Harness, receiver: FakeWebhookReceiver
) -> None:
    h = hooked
    policy = with_webhook_level(make_policy(h.unit))
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    await h.until(eid, lambda s: any(e["ok"] for e in _webhook_sent(s)), within=60)

    await h.advance(1)  # inside the response time: nobody else is paged
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice", via="slack"))
    await h.update(eid, "resolve", ResolveInput(actor="alice", note="restocked"))
    status = await h.until(
        eid,
        lambda s: s.state is ExceptionState.RESOLVED and len(_webhook_sent(s)) == 3,
        within=60,
    )

    sent = _webhook_sent(status)
    assert [(e["reason"], e["ok"], e["target"]) for e in sent] == [
        ("first", True, "ticketing"),
        ("update", True, "ticketing"),
        ("resolved", True, "ticketing"),
    ]
    keys = [e["idempotency_key"] for e in sent]
    assert len(set(keys)) == 3
    assert all(k.startswith(f"{eid}/") and k.endswith("/webhook/ticketing") for k in keys)
    # Each reached the tool once, signed and verified (nothing refused), in order.
    assert receiver.refused == []
    assert [r.key for r in receiver.received] == keys and list(receiver.by_key) == keys
    events = [receiver.by_key[k] for k in keys]
    assert [r.event["event"] for r in events] == ["first", "acknowledged", "resolved"]
    assert [r.headers["Escalator-Event"] for r in events] == ["first", "acknowledged", "resolved"]
    assert [r.headers["Idempotency-Key"] for r in events] == keys
    ack, resolved = events[1].event, events[2].event
    assert (ack["reason"], ack["state"], ack["replaces"]) == ("update", "acknowledged", "T-1")
    assert ack["status"]["acknowledged_by"] == "alice"
    assert (resolved["reason"], resolved["state"], resolved["replaces"]) == (
        "resolved",
        "resolved",
        "T-1",
    )
    # Slack heard the same changes, as before.
    reasons = [n.reason for n in h.channel.for_exception(eid) if n.channel == "slack"]
    assert reasons.count("update") == 1 and reasons.count("resolved") == 1
    await h.save_history(eid, "webhook_updates_ack_resolve")


async def test_a_snooze_reaches_the_paged_webhook_once(
    hooked: Harness, receiver: FakeWebhookReceiver
) -> None:
    h = hooked
    policy = with_webhook_level(make_policy(h.unit))
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    opened = await h.until(eid, lambda s: any(e["ok"] for e in _webhook_sent(s)), within=60)

    until = opened.detected_at + h.unit * 9  # within max_snooze (10 units), well ahead
    await h.update(eid, "snooze", SnoozeInput(actor="alice", until=until))
    snoozed = await h.until(
        eid,
        lambda s: s.state is ExceptionState.SNOOZED and len(_webhook_sent(s)) == 2,
        within=60,
    )
    first, change = _webhook_sent(snoozed)
    assert (change["reason"], change["ok"], change["target"]) == ("update", True, "ticketing")
    key = change["idempotency_key"]
    assert key != first["idempotency_key"]
    assert key.startswith(f"{eid}/") and key.endswith("/webhook/ticketing")
    # It reached the tool once, signed and verified (nothing refused), under its own key.
    assert receiver.refused == []
    assert [r.key for r in receiver.received] == [first["idempotency_key"], key]
    got = receiver.by_key[key]
    assert got.headers["Escalator-Event"] == "snoozed"
    assert got.headers["Idempotency-Key"] == key
    # The receiver checked the HMAC over the raw body (nothing refused); the header's shape:
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", got.headers["Escalator-Signature"])
    event = got.event
    assert (event["event"], event["exception_id"], event["idempotency_key"]) == (
        "snoozed",
        eid,
        key,
    )
    assert (event["reason"], event["state"], event["replaces"]) == ("update", "snoozed", "T-1")
    assert (event["level"], event["role"]) == (1, "inventory")
    assert snoozed.snoozed_until == until
    assert datetime.fromisoformat(event["status"]["snoozed_until"]) == until

    # Resolved before the snooze ends: the snooze was told once, and only once.
    await h.update(eid, "resolve", ResolveInput(actor="alice", note="restocked"))
    await h.until(
        eid,
        lambda s: s.state is ExceptionState.RESOLVED and len(_webhook_sent(s)) == 3,
        within=60,
    )
    assert receiver.refused == [] and len(receiver.received) == len(receiver.by_key) == 3
    assert [r.event["event"] for r in receiver.received] == ["first", "snoozed", "resolved"]
    assert [r.headers["Escalator-Event"] for r in receiver.received] == [
        "first",
        "snoozed",
        "resolved",
    ]
    # Slack heard the snooze too, as before.
    reasons = [n.reason for n in h.channel.for_exception(eid) if n.channel == "slack"]
    assert reasons.count("update") == 1


async def test_a_reassignment_reaches_the_paged_webhook_once(
    hooked: Harness, receiver: FakeWebhookReceiver
) -> None:
    h = hooked
    policy = with_webhook_level(make_policy(h.unit))
    eid = (await h.raise_(detection(subject()), policy)).exception_id
    await h.until(eid, lambda s: any(e["ok"] for e in _webhook_sent(s)), within=60)
    await h.update(eid, "reassign", ReassignInput(actor="bob", role="it-ops"))
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="carol"))
    await h.update(eid, "resolve", ResolveInput(actor="carol", note="fixed"))
    await h.until(
        eid,
        lambda s: s.state is ExceptionState.RESOLVED and len(_webhook_sent(s)) == 4,
        within=60,
    )
    # One webhook, one event per change, although two roles' pages named it.
    assert receiver.refused == [] and len(receiver.received) == len(receiver.by_key) == 4
    assert [r.event["event"] for r in receiver.received] == [
        "first",
        "reassigned",
        "acknowledged",
        "resolved",
    ]


async def test_a_run_without_webhooks_schedules_nothing_more(
    hooked: Harness, receiver: FakeWebhookReceiver
) -> None:
    h = hooked
    eid = (await h.raise_(detection(subject()), make_policy(h.unit))).exception_id
    await h.until(eid, lambda s: bool(steps(s, StepKind.NOTIFIED)))
    await h.advance(1)
    await h.update(eid, "acknowledge", AcknowledgeInput(actor="alice", via="slack"))
    await h.update(eid, "resolve", ResolveInput(actor="alice", note="restocked"))
    status = await h.until(
        eid,
        lambda s: s.state is ExceptionState.RESOLVED and len(steps(s, StepKind.NOTIFIED)) == 3,
        within=60,
    )
    assert receiver.received == [] and not _webhook_sent(status)
    history = await h.handle(eid).fetch_history()
    delivers = [
        e
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == ACTIVITY_DELIVER
    ]
    # The page (Slack channel and SMS), one update and one resolution to #inventory.
    assert len(delivers) == 4
    markers = [
        e.marker_recorded_event_attributes
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert not any(WEBHOOK_UPDATES.encode() in m.SerializeToString() for m in markers)
