"""The watch state of detection on Temporal in the records (SQLite and PostgreSQL): one run
of a journey holds its lease at a time, a run that lost its lease cannot overwrite the
state, and the state round-trips exactly (the watermark decides what is read next)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalator.detectors.sql_source import Watermark
from escalator.detectors.watch_state import WatchState
from escalator.records.store import Store
from escalator.records.watch_states import LeaseLost, WatchStateRow, WatchStateStore

NOW = datetime(2026, 3, 10, 10, tzinfo=UTC)
LEASE = timedelta(minutes=5)
KEY = "orders:events"


def _claim(states: WatchStateStore, owner: str, at: datetime) -> WatchState | None:
    return states.claim(KEY, journey="orders", table="events", owner=owner, now=at, lease=LEASE)


def test_one_run_holds_the_lease_and_a_lost_lease_keeps_nothing(store: Store) -> None:
    states = WatchStateStore(store.engine)
    first = _claim(states, "run-1", NOW)
    assert first is not None and first.started_at == NOW and first.watermark is None
    assert _claim(states, "run-2", NOW + timedelta(minutes=1)) is None
    assert states.holder(KEY) == ("run-1", NOW + LEASE)

    first.watermark = Watermark(ts="2026-03-10T09:59:58.123456+00:00", id=7)
    first.open = {"exc:orders:stuck:A": {"journey": "orders", "rule": "stuck", "subject": "A"}}
    first.raised = {"exc:orders:stuck:A@2026-03-10T08:00:00+00:00"}
    WatchStateRow(states, KEY, "run-1").save(first)
    with pytest.raises(LeaseLost):
        states.save(KEY, "run-2", first)
    states.release(KEY, "run-1")

    second = _claim(states, "run-2", NOW + timedelta(minutes=2))
    assert second is not None
    assert second.started_at == NOW  # the watch started with the first run
    assert second.watermark == first.watermark
    assert second.open == first.open and second.raised == first.raised

    # run-2 dies holding the lease: once it is up, run-3 takes the journey over, and a
    # late save of run-2 is refused.
    assert _claim(states, "run-3", NOW + timedelta(minutes=6)) is None
    third = _claim(states, "run-3", NOW + timedelta(minutes=7, seconds=1))
    assert third is not None
    with pytest.raises(LeaseLost):
        states.save(KEY, "run-2", second)
    states.release(KEY, "run-2")  # not the holder: nothing changes
    assert states.holder(KEY)[0] == "run-3"
