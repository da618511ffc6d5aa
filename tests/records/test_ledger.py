"""The SQL delivery ledger behaves like the in-memory one the senders test with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalator.activities.delivery_ledger import DeliveryLedger, DeliveryRecord
from escalator.records.ledger import SqlDeliveryLedger
from escalator.records.store import Store


def _rec(key: str, **kw: object) -> DeliveryRecord:
    base: dict[str, object] = {
        "idempotency_key": key,
        "exception_id": "exc:a",
        "channel": "sms",
        "destination": "+15550001",
    }
    return DeliveryRecord.model_validate(base | kw)


def test_ledger_protocol(store: Store) -> None:
    ledger = SqlDeliveryLedger(store)
    assert isinstance(ledger, DeliveryLedger)
    assert ledger.find("k1") is None
    ledger.record(_rec("k1", reply_code="42"))
    ledger.record(
        _rec("k1", state="sent", provider_message_id="SM1", reply_code="42", thread_seq=3)
    )
    found = ledger.find("k1")
    assert found is not None
    assert (found.state, found.provider_message_id, found.reply_code, found.thread_seq) == (
        "sent",
        "SM1",
        "42",
        3,
    )
    # The guard is not a result: nothing reads as delivered until a result is recorded.
    assert (store.count("delivery_guards"), store.count("notifications")) == (1, 0)
    ledger.record(
        _rec("k2", exception_id="exc:b", channel="slack", destination="#ops", provider_channel="C1")
    )
    assert [r.idempotency_key for r in ledger.for_exception("exc:a")] == ["k1"]
    assert ledger.for_exception("exc:b")[0].provider_channel == "C1"


def test_holder_of_code(store: Store) -> None:
    ledger = SqlDeliveryLedger(store)
    since = datetime.now(UTC) - timedelta(minutes=1)
    ledger.record(_rec("old", reply_code="7", state="sent"))
    ledger.record(_rec("new", reply_code="7", state="sent", exception_id="exc:new"))
    holder = ledger.holder_of_code("7", since)
    assert holder is not None and holder.idempotency_key == "new"
    assert ledger.holder_of_code("8", since) is None
    assert ledger.holder_of_code("7", datetime.now(UTC) + timedelta(minutes=1)) is None


def test_the_result_fills_run_and_level_on_the_row_the_ledger_created(store: Store) -> None:
    SqlDeliveryLedger(store).record(_rec("exc:a/run1/n1/sms/+15550001", state="sent"))
    row = store.record_notification_sync(
        idempotency_key="exc:a/run1/n1/sms/+15550001",
        exception_id="exc:a",
        channel="sms",
        target="+15550001",
        status="sent",
        run_id="run1",
        level=2,
        provider_message_id="SM1",
    )
    assert (row.run_id, row.level, row.provider_message_id) == ("run1", 2, "SM1")


def test_a_retryable_failure_never_reads_as_done(store: Store) -> None:
    """Issue 11: guard and result shared one row, so a retry after a 5xx found 'failed'
    and never called the provider again. Results now live apart from the guard."""
    ledger = SqlDeliveryLedger(store)
    key = "exc:a/run1/n1/slack/#ops"
    ledger.record(_rec(key, channel="slack", destination="#ops"))
    first = store.record_notification_sync(
        idempotency_key=key,
        exception_id="exc:a",
        channel="slack",
        target="#ops",
        status="retrying",
        error="HTTP 500",
        run_id="run1",
        level=1,
        attempts=1,
    )
    guard = ledger.find(key)
    assert guard is not None and guard.state == "pending"
    later = store.record_notification_sync(
        idempotency_key=key,
        exception_id="exc:a",
        channel="slack",
        target="#ops",
        status="sent",
        provider_message_id="C1:1.0",
        attempts=3,
    )
    assert (later.status, later.attempts, later.run_id, later.level) == ("sent", 3, "run1", 1)
    assert later.first_attempt_at == first.first_attempt_at
    assert later.last_attempt_at is not None and first.first_attempt_at is not None
    assert later.last_attempt_at >= first.first_attempt_at
    # A late answer of an older attempt never hides the delivery.
    again = store.record_notification_sync(
        idempotency_key=key,
        exception_id="exc:a",
        channel="slack",
        target="#ops",
        status="retrying",
        attempts=2,
    )
    assert (again.status, again.attempts) == ("sent", 3)
