"""The SQL delivery ledger behaves like the in-memory one the senders test with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.delivery_ledger import DeliveryLedger, DeliveryRecord
from records.ledger import SqlDeliveryLedger
from records.store import Store


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
    assert store.count("notifications") == 1
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
    ledger.record(_rec("bad", reply_code="8", state="failed"))
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
