"""Watch mode against a real SQLite file and a real PostgreSQL: raise once, clear when the
case leaves the state, resume after a restart without raising twice."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from watch_helpers import Recorder, config, create_table, insert, watch_policies

from escalator.detectors.watch import Watcher

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _scenario(
    tmp_path: Path, url: str, table: str, make_ts: Callable[[datetime], object]
) -> None:
    ps = watch_policies()
    engine = create_table(url, table, timestamptz=not url.startswith("sqlite"))
    sink, clock = Recorder(), Clock(T0)
    cfg = config(tmp_path, url, table)

    def watcher() -> Watcher:
        return Watcher(cfg, ps, ps.journeys[0], sink, clock=clock)

    w = watcher()
    insert(
        engine,
        table,
        ("A", "created", make_ts(T0 - timedelta(hours=3))),
        ("A", "waiting", make_ts(T0 - timedelta(hours=2))),
    )
    insert(
        engine,
        table,
        ("B", "waiting", make_ts(T0 - timedelta(minutes=30))),
        (None, "waiting", make_ts(T0 - timedelta(minutes=20))),
    )
    report = await w.poll_once()
    assert report.rows == 4 and report.quarantined == 1
    assert sink.raised == [("exc:orders:stuck:A", T0 - timedelta(hours=1))]  # onset, not now
    assert (await w.poll_once()).raised == []  # nothing new: nothing raised again

    # B crosses its threshold while nothing is written: evaluated as of the clock.
    clock.now = T0 + timedelta(minutes=31)
    assert (await w.poll_once()).raised == ["exc:orders:stuck:B"]

    # A leaves the state: cleared at the moment it left.
    insert(engine, table, ("A", "allocated", make_ts(T0 + timedelta(minutes=40))))
    clock.now = T0 + timedelta(minutes=41)
    report = await w.poll_once()
    assert sink.cleared == [("exc:orders:stuck:A", T0 + timedelta(minutes=40))]
    w.close()

    # Restart: history is re-read, B is still open and is neither raised nor cleared again.
    w = watcher()
    report = await w.poll_once()
    assert report.raised == [] and report.cleared == [] and report.quarantined == 0
    assert len(sink.raised) == 2
    assert cfg.state_file is not None
    state = json.loads(cfg.state_file.read_text())
    assert set(state["open"]) == {"exc:orders:stuck:B"}
    assert state["watermark"]["id"] == 5

    # An episode that starts and ends between two polls is raised and cleared at once.
    insert(
        engine,
        table,
        ("C", "waiting", make_ts(T0 + timedelta(minutes=45))),
        ("C", "allocated", make_ts(T0 + timedelta(hours=2))),
        ("B", "allocated", make_ts(T0 + timedelta(hours=2, minutes=5))),
    )
    clock.now = T0 + timedelta(hours=3)
    report = await w.poll_once()
    assert report.raised == ["exc:orders:stuck:C"]
    assert sorted(report.cleared) == ["exc:orders:stuck:B", "exc:orders:stuck:C"]
    w.close()

    # Another restart: nothing at all is repeated.
    w = watcher()
    report = await w.poll_once()
    assert (report.raised, report.cleared) == ([], [])
    w.close()
    assert len(sink.raised) == 3 and len(sink.cleared) == 3
    quarantined = [json.loads(x) for x in cfg.quarantine_file.read_text().splitlines()]
    assert len(quarantined) == 1 and "no case id" in quarantined[0]["reason"]
    engine.dispose()


async def test_watch_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    # UTC ISO text, so the database orders timestamps chronologically.
    await _scenario(tmp_path, url, "events", lambda t: t.astimezone(UTC).isoformat())


PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.mark.postgres
async def test_watch_postgres(tmp_path: Path) -> None:
    engine = sa.create_engine(PG)
    schema = f"detect_{uuid.uuid4().hex[:10]}"
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable: {exc}")
    try:
        await _scenario(tmp_path, PG, f"{schema}.events", lambda t: t)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


async def test_a_late_leave_row_clears_an_exception_whose_firing_vanished(tmp_path: Path) -> None:
    """A case raised as stuck, then a row arrives late saying it left the state before the
    threshold: no firing remains for it, and the watch clears the exception instead of
    leaving it open for ever."""
    ps = watch_policies()
    url = f"sqlite:///{tmp_path / 'events.db'}"
    engine = create_table(url, "events", timestamptz=False)
    sink, clock = Recorder(), Clock(T0)
    w = Watcher(config(tmp_path, url, "events"), ps, ps.journeys[0], sink, clock=clock)
    insert(
        engine, "events", ("D", "waiting", (T0 - timedelta(hours=2)).astimezone(UTC).isoformat())
    )
    assert (await w.poll_once()).raised == ["exc:orders:stuck:D"]
    # Written late: D was allocated 30 minutes after it began waiting, within the hour.
    insert(
        engine,
        "events",
        ("D", "allocated", (T0 - timedelta(hours=1, minutes=30)).astimezone(UTC).isoformat()),
    )
    clock.now = T0 + timedelta(minutes=1)
    report = await w.poll_once()
    assert report.cleared == ["exc:orders:stuck:D"]
    assert sink.cleared == [("exc:orders:stuck:D", clock.now)]
    assert (await w.poll_once()).cleared == []  # once
    w.close()
    engine.dispose()
