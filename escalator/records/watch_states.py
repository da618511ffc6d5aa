"""The watch state of detection on Temporal, one row per watched journey and table.

Any worker replica may run a journey's detection, so what the standalone watcher keeps
in a file (`escalator.detectors.watch_state`) lives here: the watermark, the open
dedupe keys, the raised occurrences and when the watch started.

A run first **claims** the row: it takes a lease (owner, until) that no other run holds
or whose time is up, so two runs of one journey never poll at once (the schedule's SKIP
overlap already avoids it; a manual trigger or a retry on another worker could not).
The run **saves** its state only while it still holds the lease, and **releases** it at
the end. A lease outlives a worker that died mid-run by at most its length, which is
the detection activity's timeout: by then Temporal retries the run anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from escalator.detectors.sql_source import Watermark
from escalator.detectors.watch_state import WatchState
from escalator.errors import RefusedError
from escalator.records.projection import as_utc
from escalator.records.tables import WatchStateRecord

__all__ = ["LeaseLost", "WatchStateRow", "WatchStateStore"]

WS = WatchStateRecord.__table__  # type: ignore[attr-defined]


class LeaseLost(RefusedError):
    """A detection run's lease ran out and another run took the journey over; this run's
    state was not kept (the other run's is)."""


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class WatchStateStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def claim(
        self, key: str, *, journey: str, table: str, owner: str, now: datetime, lease: timedelta
    ) -> WatchState | None:
        """The journey's state with its lease taken by ``owner``; None when another run
        holds the lease (:meth:`holder` says who)."""
        now = _utc(now)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    WS.insert().values(
                        watch_key=key,
                        journey=journey,
                        table_name=table,
                        started_at=now,
                        open_keys={},
                        raised=[],
                        updated_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            pass  # the row exists: the watch started before (on this replica or another)
        with self.engine.begin() as conn:
            taken = conn.execute(
                WS.update()
                .where(WS.c.watch_key == key)
                .where(sa.or_(WS.c.lease_owner.is_(None), WS.c.lease_until < now))
                .values(lease_owner=owner, lease_until=now + lease)
            ).rowcount
            if taken != 1:
                return None
            row = conn.execute(sa.select(WS).where(WS.c.watch_key == key)).mappings().one()
        return _state(row)

    def holder(self, key: str) -> tuple[str | None, datetime | None]:
        """Who holds the lease on ``key``, and until when."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(WS.c.lease_owner, WS.c.lease_until).where(WS.c.watch_key == key)
            ).one_or_none()
        if row is None:
            return None, None
        return row.lease_owner, as_utc(row.lease_until)

    def save(self, key: str, owner: str, state: WatchState) -> None:
        """Keep ``state``; LeaseLost when ``owner`` no longer holds the lease."""
        wm = state.watermark
        with self.engine.begin() as conn:
            kept = conn.execute(
                WS.update()
                .where(WS.c.watch_key == key)
                .where(WS.c.lease_owner == owner)
                .values(
                    watermark_ts=wm.ts if wm else None,
                    watermark_id=wm.id if wm else None,
                    open_keys=state.open,
                    raised=sorted(state.raised),
                    updated_at=datetime.now(UTC),
                )
            ).rowcount
        if kept != 1:
            raise LeaseLost(
                f"the lease on watch state {key} ran out and another detection run took it; "
                "this run's raises are not recorded (the next run reads on from the other's)"
            )

    def release(self, key: str, owner: str) -> None:
        """Give the lease up (nothing happens when another run took it meanwhile)."""
        with self.engine.begin() as conn:
            conn.execute(
                WS.update()
                .where(WS.c.watch_key == key)
                .where(WS.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def load(self, key: str) -> WatchState | None:
        """The kept state, without a lease (for reading: tests, an operator)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(WS).where(WS.c.watch_key == key)).mappings().first()
        return None if row is None else _state(row)


class WatchStateRow:
    """A :class:`~escalator.detectors.watch_state.StateKeeper` for one run: saves go to
    ``key`` under ``owner``'s lease."""

    def __init__(self, store: WatchStateStore, key: str, owner: str) -> None:
        self.store, self.key, self.owner = store, key, owner

    def save(self, state: WatchState) -> None:
        self.store.save(self.key, self.owner, state)


def _state(row: Any) -> WatchState:
    watermark = None
    if row["watermark_id"] is not None:
        watermark = Watermark(ts=str(row["watermark_ts"]), id=int(row["watermark_id"]))
    started = as_utc(row["started_at"])
    assert started is not None
    return WatchState(
        started_at=started,
        watermark=watermark,
        open=dict(row["open_keys"] or {}),
        raised=set(row["raised"] or []),
    )
