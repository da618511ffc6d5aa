"""Silences and maintenance windows, stored in the records database.

Why a table rather than a Temporal workflow per silence: routing must ask
"which silences match this exception now" on every decision, which is one
indexed query here but a visibility query (absent on the time-skipping test
server) or a registry workflow there; and `escalator silence add` then works
even while Temporal is down. A silence is never deleted: expiring it stamps
``expired_at``, so the records keep who silenced what, when and why.

A silence matches an exception when the journey is equal, the rule is equal
(or the silence names none), and every label of the silence is among the
exception's labels (the rule's ``labels`` and the detection's attributes). It
is active from ``starts_at`` until ``ends_at``, until it is expired, or — for
``until_resolved`` silences — until that exception's latest run is resolved.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from escalator.errors import InputError
from escalator.records.projection import as_utc
from escalator.records.tables import ExceptionRecord, SilenceRecord

__all__ = ["SilenceError", "SilenceStore", "matches", "new_silence_id"]

SIL = SilenceRecord.__table__  # type: ignore[attr-defined]
EXC = ExceptionRecord.__table__  # type: ignore[attr-defined]


def new_silence_id() -> str:
    """A fresh id; callers that must name the silence before storing it (the Slack menu
    writes it into the exception's timeline first) take one and pass it to ``add``."""
    return f"sil-{uuid.uuid4().hex[:10]}"


class SilenceError(InputError, ValueError):
    """A silence that cannot be created or expired; the message says what to do."""


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def matches(silence: SilenceRecord, journey: str, rule: str, labels: Mapping[str, str]) -> bool:
    if silence.journey != journey or (silence.rule is not None and silence.rule != rule):
        return False
    return all(labels.get(k) == v for k, v in (silence.labels or {}).items())


def _row(r: Any) -> SilenceRecord:
    data: dict[str, Any] = dict(r)
    for key in ("starts_at", "ends_at", "created_at", "expired_at"):
        if data.get(key) is not None:
            data[key] = as_utc(data[key])
    return SilenceRecord(**data)


class SilenceStore:
    """Silences in the records database (the engine of a migrated ``escalator.records.store.Store``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def add(
        self,
        *,
        journey: str,
        reason: str,
        created_by: str,
        now: datetime,
        rule: str | None = None,
        labels: Mapping[str, str] | None = None,
        ends_at: datetime | None = None,
        until_resolved: str | None = None,
        starts_at: datetime | None = None,
        silence_id: str | None = None,
    ) -> SilenceRecord:
        # In UTC before anything else: SQLite keeps no offset, so 18:00+01:00 stored as is
        # would read back as 18:00 UTC, an hour late (the store's convention is UTC).
        now, ends_at, starts_at = _utc(now), as_utc(ends_at), as_utc(starts_at)
        if (ends_at is None) == (until_resolved is None):
            raise SilenceError(
                "a silence needs exactly one end: --until TIME, --for DURATION or "
                "--until-resolved EXCEPTION_ID"
            )
        if ends_at is not None and ends_at <= (starts_at or now):
            raise SilenceError(f"the silence would end ({ends_at.isoformat()}) before it starts")
        if not reason.strip():
            raise SilenceError("give a --reason: the owners read it when something is suppressed")
        record = SilenceRecord(
            id=silence_id or new_silence_id(),
            journey=journey,
            rule=rule,
            labels=dict(labels or {}),
            starts_at=starts_at or now,
            ends_at=ends_at,
            until_resolved=until_resolved,
            reason=reason,
            created_by=created_by,
            created_at=now,
        )
        with self.engine.begin() as conn:
            conn.execute(sa.insert(SIL).values(**record.model_dump()))
        return record

    def expire(self, silence_id: str, *, by: str, now: datetime) -> SilenceRecord:
        now = _utc(now)  # as in add()
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(SIL)
                .where(SIL.c.id == silence_id, SIL.c.expired_at.is_(None))
                .values(expired_at=now, expired_by=by)
            )
            if done.rowcount == 0:
                found = conn.execute(sa.select(SIL.c.id).where(SIL.c.id == silence_id)).first()
                raise SilenceError(
                    f"silence {silence_id} is already expired"
                    if found
                    else f"no silence {silence_id}; see `escalator silence list`"
                )
        return self.get(silence_id)

    def get(self, silence_id: str) -> SilenceRecord:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(SIL).where(SIL.c.id == silence_id)).mappings().first()
        if found is None:
            raise SilenceError(f"no silence {silence_id}; see `escalator silence list`")
        return _row(found)

    def all(
        self, *, active_at: datetime | None = None, journey: str | None = None
    ) -> list[SilenceRecord]:
        """Every silence (newest first), or only those active at ``active_at``."""
        query = sa.select(SIL).order_by(SIL.c.created_at.desc())
        if journey is not None:
            query = query.where(SIL.c.journey == journey)
        with self.engine.connect() as conn:
            rows = [_row(r) for r in conn.execute(query).mappings().all()]
            if active_at is None:
                return rows
            resolved = self._resolved(conn, [r.until_resolved for r in rows if r.until_resolved])
        return [r for r in rows if _active(r, active_at, resolved)]

    def _resolved(self, conn: sa.Connection, ids: list[str]) -> set[str]:
        """Exceptions whose most recent run is resolved."""
        if not ids:
            return set()
        latest = (
            sa.select(EXC.c.exception_id, EXC.c.state)
            .where(EXC.c.exception_id.in_(ids))
            .order_by(EXC.c.detected_at)
        )
        state: dict[str, str] = {}
        for exception_id, run_state in conn.execute(latest):
            state[exception_id] = run_state  # ordered by detection: the last one wins
        return {k for k, v in state.items() if v == "resolved"}

    def active_for(
        self, journey: str, rule: str, labels: Mapping[str, str], at: datetime
    ) -> list[SilenceRecord]:
        """The silences holding an exception of ``journey``/``rule`` with ``labels`` at ``at``."""
        return [
            r for r in self.all(active_at=at, journey=journey) if matches(r, journey, rule, labels)
        ]

    async def active_for_async(
        self, journey: str, rule: str, labels: Mapping[str, str], at: datetime
    ) -> list[SilenceRecord]:
        return await asyncio.to_thread(self.active_for, journey, rule, labels, at)


def _active(r: SilenceRecord, at: datetime, resolved: set[str]) -> bool:
    if r.starts_at > at or (r.expired_at is not None and r.expired_at <= at):
        return False
    if r.ends_at is not None and r.ends_at <= at:
        return False
    return not (r.until_resolved is not None and r.until_resolved in resolved)
