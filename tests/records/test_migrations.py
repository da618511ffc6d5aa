"""Schema changes go through alembic: an existing database is upgraded, not recreated."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import SQLModel

import escalator.records.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from escalator.records.engine import current_revision, head_revision, make_engine, upgrade
from escalator.records.store import Store


def test_first_revision_database_is_upgraded_and_keeps_data(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO exceptions (exception_id, run_id, journey, state, detected_at, "
                "highest_level, occurrences, exhausted, restore_breached) "
                "VALUES ('exc:j:r:s', 'run-1', 'j', 'open', :at, 1, 3, false, false)"
            ),
            {"at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("exceptions")}
    assert "ix_exceptions_detected_at" not in indexes
    engine.dispose()

    store = Store.open(db_url)  # opening runs the second migration
    try:
        assert current_revision(store.engine) == head_revision() == "0008"
        indexes = {ix["name"] for ix in sa.inspect(store.engine).get_indexes("exceptions")}
        assert {"ix_exceptions_detected_at", "ix_exceptions_state"} <= indexes
        row = store.get_exception("exc:j:r:s")
        assert row is not None and (row.journey, row.occurrences) == ("j", 3)
        assert row.detected_at == datetime(2026, 1, 1, tzinfo=UTC)
    finally:
        store.close()


def test_tables_match_the_newest_migration(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        inspector = sa.inspect(store.engine)
        for table in SQLModel.metadata.sorted_tables:
            if table.name not in (
                "exceptions",
                "timeline_steps",
                "notifications",
                "silences",
                "delivery_guards",
                "rule_scorecards",
                "oncall_changes",
                "unmatched_alerts",
                "watch_states",
            ):
                continue
            in_db = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
            in_model = {c.name: c.nullable for c in table.columns}
            assert set(in_db) == set(in_model), table.name
            indexes = {ix["name"] for ix in inspector.get_indexes(table.name)}
            assert {ix.name for ix in table.indexes} <= indexes, table.name
    finally:
        store.close()


def test_downgrade_then_upgrade_again(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        from alembic import command

        from escalator.records.engine import _config

        with store.engine.begin() as conn:
            command.downgrade(_config(conn), "0001")
        assert current_revision(store.engine) == "0001"
        upgrade(store.engine)
        assert current_revision(store.engine) == head_revision()
    finally:
        store.close()


def test_guards_move_out_of_notifications_and_keep_their_codes(db_url: str) -> None:
    """0004: guard fields leave notifications for delivery_guards; pending rows (the
    provider may hold the message) read as still retrying, never as delivered or lost."""
    engine = make_engine(db_url)
    upgrade(engine, "0003")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    insert = sa.text(
        "INSERT INTO notifications (idempotency_key, exception_id, channel, target, status, "
        "provider_message_id, provider_channel, reply_code, thread_seq, created_at, updated_at) "
        "VALUES (:k, 'exc:a', :ch, :t, :st, :pid, :pc, :code, 0, :at, :at)"
    )
    rows = [
        {"k": "k-sent", "ch": "sms", "t": "+1555", "st": "sent", "pid": "SM1", "pc": None,
         "code": "4821", "at": at},
        {"k": "k-pending", "ch": "slack", "t": "#ops", "st": "pending", "pid": None, "pc": "C1",
         "code": None, "at": at},
        {"k": "k-failed", "ch": "sms", "t": "+1000", "st": "failed", "pid": None, "pc": None,
         "code": None, "at": at},
    ]  # fmt: skip
    with engine.begin() as conn:
        for row in rows:
            conn.execute(insert, row)
    engine.dispose()
    store = Store.open(db_url)
    try:
        from escalator.records.ledger import SqlDeliveryLedger

        ledger = SqlDeliveryLedger(store)
        sent = ledger.find("k-sent")
        assert sent is not None and (sent.state, sent.reply_code) == ("sent", "4821")
        pending = ledger.find("k-pending")
        assert pending is not None and (pending.state, pending.provider_channel) == (
            "pending",
            "C1",
        )
        assert ledger.find("k-failed") is None
        holder = ledger.holder_of_code("4821", datetime(2025, 12, 31, tzinfo=UTC))
        assert holder is not None and holder.idempotency_key == "k-sent"
        statuses = {
            k: store.find_notification_sync(k).status  # type: ignore[union-attr]
            for k in ("k-sent", "k-pending", "k-failed")
        }
        assert statuses == {"k-sent": "sent", "k-pending": "retrying", "k-failed": "failed"}
    finally:
        store.close()
