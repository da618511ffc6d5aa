"""The records store: timeline steps, the exceptions projection, notifications.

Synchronous SQLAlchemy inside; every write method has an ``async`` twin that
runs it in a thread, so a Temporal activity can ``await`` it without blocking
the event loop. Writes are idempotent on natural keys (INSERT ... ON CONFLICT
DO NOTHING on SQLite and PostgreSQL alike): an activity retried after a crash,
or several workers recording the same step at once, leave exactly one row.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from escalator.records.engine import make_engine, upgrade
from escalator.records.projection import apply_step, as_utc, dialect_insert
from escalator.records.tables import (
    DeliveryGuardRecord,
    ExceptionRecord,
    NotificationRecord,
    TimelineRecord,
)
from escalator.workflows.contracts import StepKind, TimelineStep

__all__ = ["GUARDS", "NOTES", "Store"]

EXC = ExceptionRecord.__table__  # type: ignore[attr-defined]
STEPS = TimelineRecord.__table__  # type: ignore[attr-defined]
NOTES = NotificationRecord.__table__  # type: ignore[attr-defined]
GUARDS = DeliveryGuardRecord.__table__  # type: ignore[attr-defined]


class Store:
    """Open with ``Store.open(url)``: the schema is migrated to the newest revision first."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        engine = make_engine(url)
        if migrate:
            upgrade(engine)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self) -> Any:
        return dialect_insert(self.dialect)

    # --- timeline and exceptions -------------------------------------------------

    def record_step_sync(self, step: TimelineStep) -> bool:
        """Record one step; True when it was new (and folded into the exception row)."""
        data = step.model_dump(mode="json")
        row = {
            "exception_id": step.exception_id,
            "run_id": step.run_id,
            "seq": step.seq,
            "kind": step.kind.value,
            "at": as_utc(step.at),
            "actor": step.actor,
            "level": step.level,
            "role": step.role,
            "detail": data["detail"],
        }
        stmt = self._insert()(STEPS).values(**row)
        stmt = stmt.on_conflict_do_nothing(index_elements=["exception_id", "run_id", "seq"])
        # RETURNING tells us whether this call inserted the row (rowcount is not
        # reliable across drivers for ON CONFLICT DO NOTHING).
        stmt = stmt.returning(STEPS.c.seq)
        with self.engine.begin() as conn:
            inserted = conn.execute(stmt).first() is not None
            if inserted:
                apply_step(conn, step, data["detail"])
                if step.kind is StepKind.NOTIFIED and data["detail"].get("idempotency_key"):
                    self._note_from_step(conn, step, data["detail"])
                for sent in (
                    data["detail"].get("sent") or [] if step.kind is StepKind.NOTIFIED else []
                ):
                    if isinstance(sent, dict) and sent.get("idempotency_key"):
                        self._result_from_step(conn, step, sent)
        return inserted

    def _result_from_step(self, conn: sa.Connection, step: TimelineStep, d: dict[str, Any]) -> None:
        """A per-target delivery's final answer, as the workflow recorded it: it lands in
        notifications even when the deliver activity could not write there (a records
        outage), and moves a ``retrying`` row to its end (``sent``, or ``failed`` when
        the delivery deadline passed). A ``sent`` row stays as it is."""
        at = as_utc(step.at)
        status = "sent" if d.get("ok") else "failed"
        values = {
            "idempotency_key": d["idempotency_key"],
            "exception_id": step.exception_id,
            "run_id": step.run_id,
            "level": step.level,
            "channel": str(d.get("channel") or "unknown"),
            "target": str(d.get("target") or ""),
            "provider_message_id": d.get("provider_message_id"),
            "status": status,
            "error": d.get("error"),
            "attempts": int(d.get("attempts") or 0),
            "first_attempt_at": at,
            "last_attempt_at": at,
            "created_at": at,
            "updated_at": at,
        }
        stmt = self._insert()(NOTES).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["idempotency_key"],
            set_={
                "status": stmt.excluded.status,
                "error": stmt.excluded.error,
                "provider_message_id": sa.func.coalesce(
                    NOTES.c.provider_message_id, stmt.excluded.provider_message_id
                ),
                "run_id": sa.func.coalesce(NOTES.c.run_id, stmt.excluded.run_id),
                "level": sa.func.coalesce(NOTES.c.level, stmt.excluded.level),
            },
            where=NOTES.c.status != "sent",
        )
        conn.execute(stmt)

    def _note_from_step(self, conn: sa.Connection, step: TimelineStep, d: dict[str, Any]) -> None:
        """A NOTIFIED step also lands in notifications, unless the sender recorded it already."""
        at = as_utc(step.at)
        values = {
            "idempotency_key": d["idempotency_key"],
            "exception_id": step.exception_id,
            "run_id": step.run_id,
            "level": step.level,
            "channel": str(d.get("channel") or "unknown"),
            "target": str(d.get("target") or ""),
            "provider_message_id": d.get("provider_message_id"),
            "status": str(d.get("status") or "sent"),
            "error": d.get("error"),
            "created_at": at,
            "updated_at": at,
        }
        stmt = self._insert()(NOTES).values(**values)
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["idempotency_key"]))

    async def record_step(self, step: TimelineStep) -> bool:
        return await asyncio.to_thread(self.record_step_sync, step)

    def record_steps_sync(self, steps: list[TimelineStep]) -> int:
        return sum(self.record_step_sync(step) for step in steps)

    def get_exception(self, exception_id: str, run_id: str | None = None) -> ExceptionRecord | None:
        """One run of an exception; without ``run_id`` the most recently detected run."""
        query = sa.select(EXC).where(EXC.c.exception_id == exception_id)
        if run_id is not None:
            query = query.where(EXC.c.run_id == run_id)
        query = query.order_by(EXC.c.detected_at.desc()).limit(1)
        with self.engine.connect() as conn:
            found = conn.execute(query).mappings().first()
        return _exception(found) if found else None

    def timeline(self, exception_id: str, run_id: str | None = None) -> list[TimelineRecord]:
        query = sa.select(STEPS).where(STEPS.c.exception_id == exception_id)
        if run_id is not None:
            query = query.where(STEPS.c.run_id == run_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(STEPS.c.at, STEPS.c.seq)).mappings().all()
        return [TimelineRecord(**{**r, "at": as_utc(r["at"])}) for r in rows]

    def count(self, table: str) -> int:
        tables = {
            "exceptions": EXC,
            "timeline_steps": STEPS,
            "notifications": NOTES,
            "delivery_guards": GUARDS,
        }
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(tables[table])).scalar_one()
            )

    # --- notifications -------------------------------------------------------------

    def record_notification_sync(
        self,
        *,
        idempotency_key: str,
        exception_id: str,
        channel: str,
        target: str,
        status: str,
        run_id: str | None = None,
        level: int | None = None,
        provider_message_id: str | None = None,
        error: str | None = None,
        attempts: int | None = None,
        at: datetime | None = None,
    ) -> NotificationRecord:
        """Insert the result, or move the existing one with this key to ``status``.

        ``status`` is ``sent``, ``retrying`` or ``failed``; ``attempts`` is the
        delivery attempt this result comes from (the highest one seen is kept),
        ``at`` its time (the first attempt's time is kept). Recording the same
        call twice leaves one row with the same values; a later call without a
        provider message id keeps the one already known; a ``sent`` notification
        is never moved back to another status.
        """
        now = as_utc(at) or datetime.now(UTC)
        values = {
            "idempotency_key": idempotency_key,
            "exception_id": exception_id,
            "run_id": run_id,
            "level": level,
            "channel": channel,
            "target": target,
            "provider_message_id": provider_message_id,
            "status": status,
            "error": error,
            "attempts": attempts or 0,
            "first_attempt_at": now,
            "last_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        stmt = self._insert()(NOTES).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["idempotency_key"],
            set_={
                "status": stmt.excluded.status,
                "error": stmt.excluded.error,
                "updated_at": stmt.excluded.updated_at,
                "provider_message_id": sa.func.coalesce(
                    stmt.excluded.provider_message_id, NOTES.c.provider_message_id
                ),
                "run_id": sa.func.coalesce(stmt.excluded.run_id, NOTES.c.run_id),
                "level": sa.func.coalesce(stmt.excluded.level, NOTES.c.level),
                "attempts": sa.case(
                    (stmt.excluded.attempts > NOTES.c.attempts, stmt.excluded.attempts),
                    else_=NOTES.c.attempts,
                ),
                "first_attempt_at": sa.func.coalesce(
                    NOTES.c.first_attempt_at, stmt.excluded.first_attempt_at
                ),
                "last_attempt_at": stmt.excluded.last_attempt_at,
            },
            # A delivered message stays delivered: a late failed retry must not hide it.
            where=sa.or_(NOTES.c.status != "sent", stmt.excluded.status == "sent"),
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
        found = self.find_notification_sync(idempotency_key)
        assert found is not None
        return found

    async def record_notification(self, **kwargs: Any) -> NotificationRecord:
        return await asyncio.to_thread(lambda: self.record_notification_sync(**kwargs))

    def find_notification_sync(self, idempotency_key: str) -> NotificationRecord | None:
        query = sa.select(NOTES).where(NOTES.c.idempotency_key == idempotency_key)
        with self.engine.connect() as conn:
            found = conn.execute(query).mappings().first()
        if found is None:
            return None
        row = dict(found)
        for name in ("created_at", "updated_at", "first_attempt_at", "last_attempt_at"):
            row[name] = as_utc(row[name])
        return NotificationRecord(**row)

    async def find_notification(self, idempotency_key: str) -> NotificationRecord | None:
        return await asyncio.to_thread(self.find_notification_sync, idempotency_key)


_TIMES = ("state_at", "onset", "detected_at", "first_notified_at", "acknowledged_at", "resolved_at")


def _exception(found: Any) -> ExceptionRecord:
    row = dict(found)
    for name in _TIMES:
        row[name] = as_utc(row[name])
    return ExceptionRecord(**row)
