"""kill -9 of the Temporal dev server, restarted on the same file: timers fire, nothing lost or doubled.

Twenty exceptions are raised; once their first pages are going out the dev
server is killed with SIGKILL and kept down past every level-2 deadline, then
started again on the same SQLite file and port. The worker is not touched: it
must reconnect by itself (same process), the timers that came due while the
server was down must fire, and every page must reach its provider once.
"""

from __future__ import annotations

import time

import pytest
from fault_policy import RESPONSE
from fault_processes import wait_until
from fault_stack import FaultStack

# The scenario, its settling deadline, the stack's start when this test runs first.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

EXCEPTIONS = 20
DOWN = RESPONSE + 3.0  # seconds the server stays dead: every level-2 deadline passes meanwhile


async def test_dev_server_kill9_and_restart_loses_and_duplicates_nothing(
    live: FaultStack,
) -> None:
    subjects = [f"server-{i}" for i in range(EXCEPTIONS)]
    names = set(subjects)
    raised_at = await live.raise_burst(subjects)
    await wait_until(
        "the first pages",
        lambda: sum(len(v) for v in live.received(names).values()) >= 3,
        within=30,
    )
    worker_pid = live.worker.pid
    live.server.kill9()
    killed = time.monotonic()
    await wait_until(
        "the server's downtime", lambda: time.monotonic() - killed >= DOWN, within=DOWN + 1
    )
    await live.server.start()  # same --db-filename, same port

    outcome = await live.settle(
        f"dev server kill -9, down {DOWN:g} s, restart on the same file",
        f"kill -9 of `temporal server start-dev` while pages went out; down {DOWN:g} s "
        "(past every level-2 deadline); restarted on the same file",
        lambda: live.server.kills,
        raised_at,
        within=60,
    )
    f = outcome.figures
    found = {
        "worker reconnected by itself": live.worker.running() and live.worker.pid == worker_pid,
        "lost, duplicated, recorded failed": (f.lost, f.duplicated, f.recorded_failed),
        "record problems": len(outcome.problems),
    }
    wanted = {
        "worker reconnected by itself": True,
        "lost, duplicated, recorded failed": (0, 0, 0),
        "record problems": 0,
    }
    assert found == wanted, f"{outcome.summary()}\nworker log:\n{live.worker.log_text()[-1500:]}"
