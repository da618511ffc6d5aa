"""PostgreSQL connections cut during a burst: no record lost, no page delayed.

While 30 exceptions are raised and paged, every connection to the run's
records database is terminated every half second for ten seconds
(`pg_terminate_backend`, as a failover or a proxy restart does). The records
must still hold every exception with its whole timeline and one sent row per
page, and no page may wait for the records: the providers get them on time.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from fault_stack import FaultStack

# The scenario, its settling deadline, the stack's start when this test runs first.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

EXCEPTIONS = 30
CUT_FOR = 10.0  # seconds: level 1 and the level-2 deadlines of the burst fall inside
# A page may be late by what a burst costs on 2 cores anyway, never by records retries
# (the old flush-before-deadline waited up to 10 attempts x 30 s).
WORST_DELAY = 5.0
STEPS = ["detected", "routed", "notified", "escalated", "notified", "exhausted"]


async def test_records_connections_cut_during_burst(live: FaultStack) -> None:
    subjects = [f"pgcut-{i}" for i in range(EXCEPTIONS)]
    burst = asyncio.create_task(live.raise_burst(subjects))
    cut, cuts = 0, 0
    until = time.monotonic() + CUT_FOR
    while time.monotonic() < until:
        cut += await asyncio.to_thread(live.db.terminate_connections)
        cuts += 1
        await asyncio.sleep(0.5)  # the fault's cadence, not a wait for a result
    raised_at = await asyncio.wait_for(burst, 60)

    outcome = await live.settle(
        f"records connections cut x{cuts} during a burst of {EXCEPTIONS}",
        f"pg_terminate_backend on every connection of the records database every 0.5 s "
        f"for {CUT_FOR:g} s ({cut} connections cut)",
        lambda: cut,
        raised_at,
        within=60,
        steps=STEPS,
    )
    f = outcome.figures
    delay = f.worst_extra_delay_s
    found = {
        "connections cut": cut > 0,
        "lost, duplicated, recorded failed": (f.lost, f.duplicated, f.recorded_failed),
        "record problems": len(outcome.problems),
        "exceptions recorded": len(outcome.records.exceptions),
        f"worst extra delay <= {WORST_DELAY:g} s": delay is not None and delay <= WORST_DELAY,
    }
    wanted = {
        "connections cut": True,
        "lost, duplicated, recorded failed": (0, 0, 0),
        "record problems": 0,
        "exceptions recorded": EXCEPTIONS,
        f"worst extra delay <= {WORST_DELAY:g} s": True,
    }
    assert found == wanted, outcome.summary()
