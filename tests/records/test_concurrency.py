"""Several workers recording the same steps at once leave exactly one row each."""

from __future__ import annotations

import multiprocessing
import threading

from record_steps import lifecycle

from escalator.records.store import Store

EXCEPTIONS = [f"exc:orderToShip:payment_pending:o-{i}" for i in range(8)]


def _steps() -> list:
    return [s for exc in EXCEPTIONS for s in lifecycle(exc)]


def _record_all(url: str, barrier: threading.Barrier | None) -> int:
    store = Store.open(url, migrate=False)
    try:
        if barrier is not None:
            barrier.wait()
        return store.record_steps_sync(_steps())
    finally:
        store.close()


def _assert_one_row_each(url: str, inserted_total: int) -> None:
    store = Store.open(url)
    try:
        steps = len(_steps())
        assert inserted_total == steps  # each step was new for exactly one worker
        assert store.count("timeline_steps") == steps
        assert store.count("exceptions") == len(EXCEPTIONS)
        assert store.count("notifications") == len(EXCEPTIONS)
        for exc in EXCEPTIONS:
            row = store.get_exception(exc)
            assert row is not None
            assert (row.occurrences, row.highest_level, row.state) == (2, 2, "resolved")
    finally:
        store.close()


def test_threads_record_the_same_steps(db_url: str) -> None:
    Store.open(db_url).close()
    workers = 4
    barrier = threading.Barrier(workers)
    results: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        n = _record_all(db_url, barrier)
        with lock:
            results.append(n)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == workers
    _assert_one_row_each(db_url, sum(results))


def test_processes_record_the_same_steps(db_url: str) -> None:
    Store.open(db_url).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(_record_all, [(db_url, None)] * 3)
    _assert_one_row_each(db_url, sum(results))


def _open_fresh(url: str) -> str | None:
    store = Store.open(url)
    try:
        from escalator.records.engine import current_revision

        return current_revision(store.engine)
    finally:
        store.close()


def test_processes_open_a_fresh_database_at_once(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        revisions = pool.map(_open_fresh, [db_url] * 3)
    from escalator.records.engine import head_revision

    assert revisions == [head_revision()] * 3
