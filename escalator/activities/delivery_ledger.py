"""Which notification went out where: the guard against duplicate messages.

Every notification carries an idempotency key (workflow id + run + notification
step + channel + target). A sender records the key with the provider's message
id as soon as the provider accepts (state ``sent``), before the activity
returns. A retried activity finds it and does not send again; on a retry
without a ``sent`` record the provider may have accepted a message whose
answer was lost, so the sender looks at the provider before it posts. A first
attempt never reads the guard: nothing can be there yet, and a records outage
must hold no page. (``pending`` rows come from before this: the migration
kept them; a retry treats them as "look first".)
The guard is never the result: what the provider answered is recorded
separately (``notifications``), so a retryable failure never stops a retry.

The in-memory ledger serves tests and single-process runs; the records
store implements the same protocol over SQL.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from escalator.records.deliveries import DeliveryRecord

__all__ = [
    "REPLY_CODE_TTL",
    "DeliveryLedger",
    "DeliveryRecord",
    "InMemoryLedger",
    "guard_find",
    "guard_for_exception",
    "guard_record",
]

log = logging.getLogger(__name__)

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
                r for r in self._records.values() if r.reply_code == code and r.recorded_at >= since
            ]
        return max(found, key=lambda r: r.recorded_at) if found else None


# --- the guard as the senders use it: never on the event loop, never fatal ----------------
# A records outage must delay no page (issue 11): a guard that cannot be read or written
# is treated as unknown. The senders then rely on the activity attempt (a first attempt
# cannot have posted before; a retry looks at the provider before posting).

GUARD_TIMEOUT = 2.0  # seconds; a hung database must not hold a page for long


async def guard_find(ledger: DeliveryLedger, key: str) -> DeliveryRecord | None:
    """The guard record for ``key``; None when there is none or the ledger is unreachable."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(ledger.find, key), GUARD_TIMEOUT)
    except Exception as err:  # any failure of the store means "unknown"
        log.warning("delivery guard unreadable for %s: %s", key, _first_line(err))
        return None


async def guard_record(ledger: DeliveryLedger, record: DeliveryRecord) -> bool:
    try:
        await asyncio.wait_for(asyncio.to_thread(ledger.record, record), GUARD_TIMEOUT)
        return True
    except Exception as err:
        log.warning(
            "delivery guard not written for %s: %s", record.idempotency_key, _first_line(err)
        )
        return False


async def guard_for_exception(ledger: DeliveryLedger, exception_id: str) -> list[DeliveryRecord]:
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(ledger.for_exception, exception_id), GUARD_TIMEOUT
        )
    except Exception as err:
        log.warning("delivery guards unreadable for %s: %s", exception_id, _first_line(err))
        return []


def _first_line(err: BaseException) -> str:
    return (str(err) or type(err).__name__).splitlines()[0]
