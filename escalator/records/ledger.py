"""The delivery ledger (``escalator.activities.delivery_ledger.DeliveryLedger``) over the
``delivery_guards`` table, so the Slack and SMS senders share one durable guard
against duplicate messages across workers and restarts.

The guard is not the result: what the provider answered lives in
``notifications`` (``Store.record_notification_sync``). Keeping them apart is
what lets a retry after a 5xx call the provider again (issue 11)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from escalator.records.deliveries import DeliveryRecord
from escalator.records.projection import as_utc
from escalator.records.store import GUARDS, Store

__all__ = ["SqlDeliveryLedger"]


class SqlDeliveryLedger:
    """``find``/``record``/``for_exception``/``holder_of_code`` on the records store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def find(self, idempotency_key: str) -> DeliveryRecord | None:
        query = sa.select(GUARDS).where(GUARDS.c.idempotency_key == idempotency_key)
        with self.store.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _record(row) if row else None

    def record(self, record: DeliveryRecord) -> None:
        """Insert or replace the record with the same idempotency key."""
        now = datetime.now(UTC)
        values = {
            "idempotency_key": record.idempotency_key,
            "exception_id": record.exception_id,
            "channel": record.channel,
            "destination": record.destination,
            "state": record.state,
            "provider_message_id": record.provider_message_id,
            "provider_channel": record.provider_channel,
            "reply_code": record.reply_code,
            "thread_seq": record.thread_seq,
            "error": record.error,
            "created_at": now,
            "updated_at": now,
        }
        stmt = self.store._insert()(GUARDS).values(**values)
        replace = {
            k: stmt.excluded[k] for k in values if k not in ("idempotency_key", "created_at")
        }
        stmt = stmt.on_conflict_do_update(index_elements=["idempotency_key"], set_=replace)
        with self.store.engine.begin() as conn:
            conn.execute(stmt)

    def for_exception(self, exception_id: str) -> list[DeliveryRecord]:
        query = sa.select(GUARDS).where(GUARDS.c.exception_id == exception_id).order_by(GUARDS.c.id)
        with self.store.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query).mappings().all()]

    def holder_of_code(self, code: str, since: datetime) -> DeliveryRecord | None:
        """The latest delivery since ``since`` that handed out reply ``code``."""
        query = (
            sa.select(GUARDS)
            .where(
                GUARDS.c.reply_code == code,
                GUARDS.c.updated_at >= as_utc(since),
            )
            .order_by(GUARDS.c.updated_at.desc(), GUARDS.c.id.desc())
            .limit(1)
        )
        with self.store.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _record(row) if row else None

    async def afind(self, idempotency_key: str) -> DeliveryRecord | None:
        return await asyncio.to_thread(self.find, idempotency_key)

    async def arecord(self, record: DeliveryRecord) -> None:
        await asyncio.to_thread(self.record, record)


def _record(row: Any) -> DeliveryRecord:
    return DeliveryRecord(
        idempotency_key=row["idempotency_key"],
        exception_id=row["exception_id"],
        channel=row["channel"],
        destination=row["destination"],
        state="sent" if row["state"] == "sent" else "pending",
        provider_message_id=row["provider_message_id"],
        provider_channel=row["provider_channel"],
        reply_code=row["reply_code"],
        thread_seq=row["thread_seq"] or 0,
        error=row["error"],
        recorded_at=as_utc(row["updated_at"]) or datetime.now(UTC),
    )
