"""Which notification went out where: the guard against duplicate messages.

Every notification carries an idempotency key (workflow id + notification
step). A sender records the key *before* it calls the provider (state
``pending``) and again with the provider's message id as soon as the
provider accepts (state ``sent``), before the activity returns. A retried
activity, a restarted worker or a repeated detection finds the key and does
not send again; a ``pending`` record tells the sender the provider may have
accepted a message whose answer was lost, so it looks before it posts.

The in-memory ledger serves tests and single-process runs; the records
store implements the same protocol over SQL.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from records.deliveries import DeliveryRecord

__all__ = ["REPLY_CODE_TTL", "DeliveryLedger", "DeliveryRecord", "InMemoryLedger"]

REPLY_CODE_TTL = timedelta(days=7)  # a code older than this may be handed out again


@runtime_checkable
class DeliveryLedger(Protocol):
    def find(self, idempotency_key: str) -> DeliveryRecord | None: ...

    def record(self, record: DeliveryRecord) -> None:
        """Insert or replace the record with the same idempotency key."""

    def for_exception(self, exception_id: str) -> list[DeliveryRecord]: ...

    def holder_of_code(self, code: str, since: datetime) -> DeliveryRecord | None:
        """The latest SMS delivery since ``since`` that handed out reply ``code``."""


class InMemoryLedger:
    def __init__(self) -> None:
        self._records: dict[str, DeliveryRecord] = {}
        self._lock = threading.Lock()

    def find(self, idempotency_key: str) -> DeliveryRecord | None:
        with self._lock:
            return self._records.get(idempotency_key)

    def record(self, record: DeliveryRecord) -> None:
        with self._lock:
            self._records[record.idempotency_key] = record.model_copy(
                update={"recorded_at": datetime.now(UTC)}
            )

    def for_exception(self, exception_id: str) -> list[DeliveryRecord]:
        with self._lock:
            return [r for r in self._records.values() if r.exception_id == exception_id]

    def holder_of_code(self, code: str, since: datetime) -> DeliveryRecord | None:
        with self._lock:
            found = [
                r
                for r in self._records.values()
                if r.reply_code == code and r.recorded_at >= since and r.state != "failed"
            ]
        return max(found, key=lambda r: r.recorded_at) if found else None
