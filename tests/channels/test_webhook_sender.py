"""The outbound webhook channel against a real HTTP receiver on 127.0.0.1 that checks
the signature as docs/integrations.md describes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fakes.channel_samples import XID
from fakes.server import Fault
from fakes.webhook_receiver import FakeWebhookReceiver

from escalator.activities.channels import ChannelSender, Notification
from escalator.activities.delivery_ledger import InMemoryLedger
from escalator.activities.webhook_sender import WebhookSender
from escalator.activities.webhook_signature import sign, signature_header, verify
from escalator.policies.webhooks import Webhook
from escalator.settings import Settings

NotificationFactory = Callable[..., Notification]
SECRET = "whsec-3f9a1c77d2e04b"
KEY = f"{XID}/run-1/n1/webhook/ticketing"


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    fake = FakeWebhookReceiver(SECRET).start()
    try:
        yield fake
    finally:
        fake.stop()


def sender(
    fake: FakeWebhookReceiver,
    ledger: InMemoryLedger | None = None,
    *,
    secret: str = SECRET,
    timeout: timedelta = timedelta(seconds=5),
) -> WebhookSender:
    hook = Webhook(name="ticketing", url=fake.url, secret="tickets", timeout=timeout)
    return WebhookSender({"ticketing": hook}, {"tickets": secret}, ledger or InMemoryLedger())


def hook(notification: NotificationFactory, **kw: object) -> Notification:
    fields: dict[str, object] = {
        "channel": "webhook",
        "target": "ticketing",
        "idempotency_key": KEY,
    }
    fields.update(kw)
    return notification(**fields)


async def test_posts_signed_json_the_receiver_verifies(
    receiver: FakeWebhookReceiver, notification: NotificationFactory
) -> None:
    ledger = InMemoryLedger()
    s = sender(receiver, ledger)
    assert isinstance(s, ChannelSender)
    delivery = await s.send(hook(notification))
    assert delivery.ok, delivery.error
    assert receiver.refused == []
    [got] = receiver.received
    assert got.key == KEY
    assert got.headers["Escalator-Event"] == "first"
    assert got.headers["Content-Type"] == "application/json"
    event = got.event
    assert (event["event"], event["exception_id"], event["subject"]) == ("first", XID, "ORD-1042")
    assert (event["journey"], event["rule"], event["severity"]) == (
        "orderToShip",
        "awaiting_inventory",
        "high",
    )
    assert event["idempotency_key"] == KEY
    assert event["status"]["owner_role"] == "inventory"
    assert "timeline" not in event["status"]
    # The tool's own id for what it made is kept: later events can name it.
    assert delivery.provider_message_id == "T-1"
    record = ledger.find(KEY)
    assert record is not None and (record.state, record.provider_message_id) == ("sent", "T-1")
    await s.close()


async def test_a_wrong_secret_is_refused_and_not_retried(
    receiver: FakeWebhookReceiver, notification: NotificationFactory
) -> None:
    s = sender(receiver, secret="not-the-shared-secret")
    delivery = await s.send(hook(notification))
    assert not delivery.ok and not delivery.retryable
    assert delivery.error is not None and "HTTP 401" in delivery.error
    assert receiver.refused == ["bad signature"] and receiver.received == []
    await s.close()


async def test_a_5xx_is_retried_with_the_same_idempotency_key(
    receiver: FakeWebhookReceiver, notification: NotificationFactory
) -> None:
    receiver.inject("hook", Fault(status=503, retry_after=7))
    s = sender(receiver)
    first = await s.send(hook(notification))
    assert not first.ok and first.retryable and first.retry_after == 7
    second = await s.send(hook(notification, attempt=2))  # Temporal's retry
    assert second.ok, second.error
    assert [r.key for r in receiver.received] == [KEY, KEY]
    # Each attempt is signed afresh (a new timestamp may sign it) and still verifies.
    assert receiver.refused == []
    await s.close()


async def test_a_retry_the_ledger_marks_sent_posts_nothing(
    receiver: FakeWebhookReceiver, notification: NotificationFactory
) -> None:
    ledger = InMemoryLedger()
    s = sender(receiver, ledger)
    first = await s.send(hook(notification))
    again = await s.send(hook(notification, attempt=2))  # the worker died after the POST
    assert first.ok and again.ok
    assert again.provider_message_id == first.provider_message_id == "T-1"
    assert len(receiver.received) == 1
    await s.close()


async def test_a_lost_answer_is_retried_and_the_key_lets_the_tool_drop_the_repeat(
    receiver: FakeWebhookReceiver, notification: NotificationFactory
) -> None:
    receiver.inject("hook", Fault(after=True, delay=3))
    s = sender(receiver, timeout=timedelta(seconds=1))
    lost = await s.send(hook(notification))
    assert not lost.ok and lost.retryable and "did not answer" in (lost.error or "")
    retried = await s.send(hook(notification, attempt=2))
    assert retried.ok, retried.error
    assert [r.key for r in receiver.received] == [KEY, KEY]
    assert list(receiver.by_key) == [KEY]  # the tool acted once
    await s.close()


async def test_a_4xx_is_permanent(
    receiver: FakeWebhookReceiver, notification: NotificationFactory
) -> None:
    receiver.inject("hook", Fault(status=422))
    s = sender(receiver)
    delivery = await s.send(hook(notification))
    assert not delivery.ok and not delivery.retryable
    assert "answered HTTP 422" in (delivery.error or "")
    await s.close()


async def test_unknown_webhook_or_missing_secret_fail_with_what_to_do(
    receiver: FakeWebhookReceiver, notification: NotificationFactory
) -> None:
    s = sender(receiver)
    unknown = await s.send(hook(notification, target="statuspage"))
    assert not unknown.ok and not unknown.retryable
    assert unknown.error == (
        "no webhook named 'statuspage' in the worker's policies (known: ticketing); "
        "declare it under 'webhooks:' and restart the worker"
    )
    no_secret = WebhookSender(
        {"ticketing": Webhook(name="ticketing", url=receiver.url)}, {}, InMemoryLedger()
    )
    missing = await no_secret.send(hook(notification))
    assert not missing.ok and not missing.retryable
    assert "ESCALATOR_WEBHOOK_SECRETS" in (missing.error or "")
    assert receiver.received == [] and receiver.refused == []
    await s.close()


def test_verify_accepts_the_signature_and_refuses_tampering_and_replays() -> None:
    body = json.dumps({"event": "first"}).encode()
    now = time.time()
    header = signature_header(SECRET, body, now=now)
    assert verify(SECRET, header, body, now=now) is None
    assert verify(SECRET, header, body + b" ", now=now) == "the signature does not match the body"
    assert verify("other", header, body, now=now) == "the signature does not match the body"
    stale = verify(SECRET, header, body, now=now + 600)
    assert stale is not None and "outside the 300 s tolerance" in stale
    assert verify(SECRET, "v1=abc", body) is not None
    # The documented scheme: HMAC-SHA256 over "<t>." + body, hex.
    t = int(now)
    assert header == f"t={t},v1={sign(SECRET, t, body)}"


def test_secrets_setting_parses_and_names_a_bad_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALATOR_WEBHOOK_SECRETS", "tickets=abc123, statuspage = def=456")
    settings = Settings()
    assert settings.webhook_secret_map() == {"tickets": "abc123", "statuspage": "def=456"}
    assert "abc123" not in repr(settings)
    monkeypatch.setenv("ESCALATOR_WEBHOOK_SECRETS", "tickets=abc123,oops")
    with pytest.raises(ValueError, match="entry 2 is not name=secret"):
        Settings().webhook_secret_map()
