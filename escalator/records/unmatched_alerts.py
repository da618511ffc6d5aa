"""Alerts that mapped to no rule, kept for the alerting admin (`escalator alerts unmatched`).

The receiver answers such an alert 422 naming what did not match; Alertmanager does not
retry a 4xx, so without a record the alert would only be in a log. One row per integration
and fingerprint: Alertmanager repeats a firing alert every ``repeat_interval``, and a
repeat counts (``count``, ``last_seen``) instead of growing the table. The labels,
annotations, status and reason are the latest received; ``first_seen`` stays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from escalator.records.projection import as_utc, dialect_insert
from escalator.records.tables import UnmatchedAlertRecord

__all__ = ["UnmatchedAlert", "UnmatchedAlertStore"]

UA = UnmatchedAlertRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class UnmatchedAlert:
    """One alert as received, and why it raised nothing."""

    integration: str
    source: str
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    reason: str


class UnmatchedAlertStore:
    """The ``unmatched_alerts`` table (the engine of a migrated records ``Store``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, alerts: Sequence[UnmatchedAlert], at: datetime) -> None:
        """Insert each alert, or count a repeat of its integration and fingerprint."""
        if not alerts:
            return
        # One row per key per statement: PostgreSQL refuses an upsert that touches a row
        # twice, and a payload may carry the same fingerprint more than once.
        latest: dict[tuple[str, str], UnmatchedAlert] = {}
        repeats: dict[tuple[str, str], int] = {}
        for a in alerts:
            key = (a.integration, a.fingerprint[:128])  # a generic sender's may be long
            latest[key] = a
            repeats[key] = repeats.get(key, 0) + 1
        insert = dialect_insert(self.engine.dialect.name)
        with self.engine.begin() as conn:
            for key, a in sorted(latest.items()):
                stmt = insert(UA).values(
                    integration=key[0],
                    fingerprint=key[1],
                    source=a.source,
                    status=a.status,
                    labels=a.labels,
                    annotations=a.annotations,
                    reason=a.reason,
                    count=repeats[key],
                    first_seen=at,
                    last_seen=at,
                )
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["integration", "fingerprint"],
                        set_={
                            "count": UA.c.count + stmt.excluded.count,
                            "last_seen": stmt.excluded.last_seen,
                            "status": stmt.excluded.status,
                            "labels": stmt.excluded.labels,
                            "annotations": stmt.excluded.annotations,
                            "reason": stmt.excluded.reason,
                            "source": stmt.excluded.source,
                        },
                    )
                )

    async def record_async(self, alerts: Sequence[UnmatchedAlert], at: datetime) -> None:
        await asyncio.to_thread(self.record, alerts, at)

    def all(
        self,
        *,
        integration: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[UnmatchedAlertRecord]:
        """The latest seen first."""
        query = sa.select(UA).order_by(UA.c.last_seen.desc(), UA.c.fingerprint)
        if integration is not None:
            query = query.where(UA.c.integration == integration)
        if since is not None:
            query = query.where(UA.c.last_seen >= since)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings()]

    def forget(self, before: datetime) -> int:
        """Delete those last seen before ``before`` (distinct fingerprints are otherwise
        kept for good); how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(sa.delete(UA).where(UA.c.last_seen < before)).rowcount)

    def summary(self, since: datetime | None = None) -> dict[str, int]:
        """Alerts received unmatched per integration (repeats included), for the report."""
        query = sa.select(UA.c.integration, sa.func.sum(UA.c.count)).group_by(UA.c.integration)
        if since is not None:
            query = query.where(UA.c.last_seen >= since)
        with self.engine.connect() as conn:
            return {name: int(n) for name, n in conn.execute(query)}


def _row(r: Any) -> UnmatchedAlertRecord:
    data: dict[str, Any] = dict(r)
    for key in ("first_seen", "last_seen"):
        data[key] = as_utc(data[key])
    return UnmatchedAlertRecord(**data)
