"""The SMS sender through the real twilio Client against the fake Twilio REST API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.channel_samples import XID
from fakes.server import Fault
from fakes.twilio_api import FakeTwilio

from escalator.activities.channels import ChannelSender, Notification
from escalator.activities.delivery_ledger import DeliveryRecord, InMemoryLedger
from escalator.activities.sms_codes import (
    ReplyVerb,
    SmsReplyError,
    assign_code,
    parse_reply,
    reply_code,
)
from escalator.activities.sms_sender import SmsSender
from escalator.activities.sms_twilio import RetryingTwilioHttpClient, twilio_client
from escalator.records.ledger import SqlDeliveryLedger
from escalator.records.store import Store

NotificationFactory = Callable[..., Notification]
FROM = "+3197010000000"
ANNA = "+31612340001"


def sender(
    fake: FakeTwilio, ledger: InMemoryLedger | None = None, *, token: str | None = None
) -> SmsSender:
    """Wired as the worker wires it: no retries inside the client (Temporal retries)."""
    client = twilio_client(
        fake.account_sid, token or fake.auth_token, base_url=fake.base_url, retries=0
    )
    return SmsSender(client, ledger or InMemoryLedger(), FROM)


def sms(notification: NotificationFactory, **kw: object) -> Notification:
    fields: dict[str, object] = {
        "channel": "sms",
        "target": ANNA,
        "member": "anna",
        "idempotency_key": f"{XID}/run-1/2/sms/{ANNA}",
        "level": 2,
    }
    fields.update(kw)
    return notification(**fields)


async def test_texts_the_short_message_with_the_reply_code(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    ledger = InMemoryLedger()
    s = sender(fake_twilio, ledger)
    assert isinstance(s, ChannelSender)
    delivery = await s.send(sms(notification))
    assert delivery.ok, delivery.error
    [sent] = fake_twilio.messages
    code = reply_code(XID)
    assert sent.body == (
        f"orderToShip: ORD-1042 awaiting_inventory 2h10m. Reply ACK {code} or RES {code}"
    )
    assert (sent.to, sent.from_) == (ANNA, FROM)
    record = ledger.find(sms(notification).idempotency_key)
    assert record is not None
    assert (record.state, record.provider_message_id, record.reply_code) == ("sent", sent.sid, code)
    assert delivery.provider_message_id == sent.sid


async def test_a_retried_send_does_not_text_twice(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    s = sender(fake_twilio)
    first = await s.send(sms(notification))
    second = await s.send(sms(notification, attempt=2))  # the retried activity
    assert first == second
    assert len(fake_twilio.calls_to("Messages")) == 1


async def test_rate_limit_and_server_errors_are_retryable_with_retry_after(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    fake_twilio.inject("Messages", Fault(status=429, retry_after=9), Fault(status=503))
    s = sender(fake_twilio)
    limited = await s.send(sms(notification))
    assert not limited.ok and limited.retryable and limited.retry_after == 9
    down = await s.send(sms(notification, attempt=2))
    assert not down.ok and down.retryable and down.retry_after is None
    delivered = await s.send(sms(notification, attempt=3))
    assert delivered.ok and not delivered.found_at_provider
    assert len(fake_twilio.messages) == 1


async def test_a_lost_answer_is_found_in_twilios_list_not_texted_again(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    """Twilio accepted, the worker died before the guard said sent (a fresh ledger: the
    records were down too). The retry finds the same body in the message list."""
    scheduled = datetime.now(UTC) - timedelta(seconds=5)
    first = await sender(fake_twilio).send(sms(notification, scheduled_at=scheduled))
    assert first.ok
    retried = await sender(fake_twilio, InMemoryLedger()).send(
        sms(notification, attempt=2, scheduled_at=scheduled)
    )
    assert retried.ok and retried.found_at_provider
    assert retried.provider_message_id == first.provider_message_id
    assert len(fake_twilio.messages) == 1


async def test_an_earlier_text_of_the_same_exception_is_not_taken_for_this_one(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    """Level 1 texted anna an hour ago; level 2's retry must not mistake it for its own."""
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await sender(fake_twilio).send(sms(notification, idempotency_key="k-l1", scheduled_at=hour_ago))
    fake_twilio.messages[0].created = hour_ago
    retried = await sender(fake_twilio).send(
        sms(notification, idempotency_key="k-l2", attempt=2, scheduled_at=datetime.now(UTC))
    )
    assert retried.ok and not retried.found_at_provider
    assert len(fake_twilio.messages) == 2


async def test_a_retry_that_cannot_list_does_not_text_blind(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    fake_twilio.inject("Messages.list", Fault(status=503))
    delivery = await sender(fake_twilio).send(sms(notification, attempt=2))
    assert not delivery.ok and delivery.retryable
    assert fake_twilio.messages == []


async def test_a_voice_call_has_no_lookup_and_is_placed_again(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    """Documented limit: a call whose answer was lost is placed again (docs/reliability.md)."""
    call = sms(notification, channel="voice", idempotency_key="k-call")
    await sender(fake_twilio).send(call)
    await sender(fake_twilio, InMemoryLedger()).send(call.model_copy(update={"attempt": 2}))
    assert len(fake_twilio.calls_made) == 2
    assert fake_twilio.calls_to("Messages.list") == []


async def test_persistent_server_errors_are_a_retryable_failure(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    fake_twilio.inject("Messages", *[Fault(status=500)] * 4)
    delivery = await sender(fake_twilio).send(sms(notification))
    assert not delivery.ok and delivery.retryable
    assert fake_twilio.messages == []


async def test_an_invalid_number_is_permanent_and_recorded(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    fake_twilio.invalid_numbers.add(ANNA)
    ledger = InMemoryLedger()
    s = sender(fake_twilio, ledger)
    delivery = await s.send(sms(notification))
    assert not delivery.ok and not delivery.retryable
    assert delivery.error and "21211" in delivery.error
    # The reply code was guarded before the text (pending); a refusal is a result, so the
    # guard never says sent.
    record = ledger.find(sms(notification).idempotency_key)
    assert record is not None and record.state == "pending"
    assert len(fake_twilio.calls_to("Messages")) == 1


async def test_revoked_credentials_are_permanent(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    delivery = await sender(fake_twilio, token="revoked").send(sms(notification))
    assert not delivery.ok and not delivery.retryable
    assert delivery.error and "20003" in delivery.error


async def test_unreachable_twilio_is_retryable(notification: NotificationFactory) -> None:
    fake = FakeTwilio().start()
    url = fake.base_url
    fake.stop()  # nothing listens there any more
    client = twilio_client(fake.account_sid, fake.auth_token, base_url=url, backoff=0.01)
    delivery = await SmsSender(client, InMemoryLedger(), FROM).send(sms(notification))
    assert not delivery.ok and delivery.retryable
    http = client.http_client
    assert isinstance(http, RetryingTwilioHttpClient) and http.attempts == 4
    # As the worker wires it: one request, the retry is Temporal's.
    once = twilio_client(fake.account_sid, fake.auth_token, base_url=url, retries=0)
    delivery = await SmsSender(once, InMemoryLedger(), FROM).send(sms(notification))
    assert not delivery.ok and delivery.retryable
    assert isinstance(once.http_client, RetryingTwilioHttpClient)
    assert once.http_client.attempts == 1


async def test_voice_call_for_top_severity(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    delivery = await sender(fake_twilio).send(sms(notification, channel="voice"))
    assert delivery.ok and delivery.provider_message_id
    [call] = fake_twilio.calls_made
    assert call.to == ANNA and call.twiml and "<Say>Escalator. orderToShip" in call.twiml


async def test_update_texts_nothing(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    delivery = await sender(fake_twilio).update(sms(notification), "SM1")
    assert delivery.ok and fake_twilio.calls == []


def test_reply_codes_are_deterministic_and_collisions_take_the_next() -> None:
    assert reply_code(XID) == reply_code(XID)
    assert len(reply_code(XID)) == 4 and reply_code(XID)[0] != "0"
    now = datetime.now(UTC)
    ledger = InMemoryLedger()
    assert assign_code(XID, ledger, now) == reply_code(XID)
    other = "exc:orderToShip:payment_pending:ORD-7"
    ledger.record(
        DeliveryRecord(
            idempotency_key="k-other",
            exception_id=other,
            channel="sms",
            destination=ANNA,
            state="sent",
            reply_code=reply_code(XID),  # another exception already holds XID's first code
        )
    )
    code = assign_code(XID, ledger, now)
    assert code == reply_code(XID, 1) != reply_code(XID)
    ledger.record(
        DeliveryRecord(
            idempotency_key="k-mine",
            exception_id=XID,
            channel="sms",
            destination=ANNA,
            reply_code=code,
        )
    )
    assert assign_code(XID, ledger, now) == code  # kept once handed out


@pytest.mark.parametrize(
    ("body", "verb", "code", "note"),
    [
        ("ACK 4821", ReplyVerb.ACK, "4821", None),
        ("  ack 4821\n", ReplyVerb.ACK, "4821", None),
        ("RES 4821 moved stock from NL2", ReplyVerb.RES, "4821", "moved stock from NL2"),
        ("resolve 4821", ReplyVerb.RES, "4821", None),
    ],
)
def test_parse_reply(body: str, verb: ReplyVerb, code: str, note: str | None) -> None:
    reply = parse_reply(body)
    assert (reply.verb, reply.code, reply.note) == (verb, code, note)


@pytest.mark.parametrize("body", ["", "yes", "ACK", "ACK 12345", "ACK12", "STOP"])
def test_parse_reply_refuses(body: str) -> None:
    with pytest.raises(SmsReplyError, match="Reply ACK <code>"):
        parse_reply(body)


async def test_a_timeout_is_retryable_and_not_retried_blindly(
    fake_twilio: FakeTwilio, notification: NotificationFactory
) -> None:
    fake_twilio.inject("Messages", Fault(delay=1.5))
    client = twilio_client(
        fake_twilio.account_sid, fake_twilio.auth_token, base_url=fake_twilio.base_url, timeout=0.5
    )
    delivery = await SmsSender(client, InMemoryLedger(), FROM).send(sms(notification))
    assert not delivery.ok and delivery.retryable
    assert len(fake_twilio.calls_to("Messages")) == 1  # Twilio may have accepted: no blind resend


async def test_the_records_store_ledger_guards_sends_and_maps_codes(
    fake_twilio: FakeTwilio, notification: NotificationFactory, tmp_path: Path
) -> None:
    """The production ledger (SQL, shared by worker and receiver) behind the same sender."""
    store = Store.open(f"sqlite:///{tmp_path / 'records.db'}")
    ledger = SqlDeliveryLedger(store)
    client = twilio_client(
        fake_twilio.account_sid, fake_twilio.auth_token, base_url=fake_twilio.base_url
    )
    first = await SmsSender(client, ledger, FROM).send(sms(notification))
    again = await SmsSender(client, SqlDeliveryLedger(store), FROM).send(
        sms(notification, attempt=2)
    )  # the retry, on a new worker
    assert first.ok and first == again
    assert len(fake_twilio.messages) == 1
    holder = SqlDeliveryLedger(store).holder_of_code(
        reply_code(XID), datetime.now(UTC) - timedelta(days=1)
    )
    assert holder is not None and holder.exception_id == XID
    store.close()
