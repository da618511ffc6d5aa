"""kill -9 of the worker during a burst of 50 escalations: nothing lost, nothing sent twice.

Six kills, each followed by a restart of `escalator worker` (as systemd or
Kubernetes would restart it):

1. while the burst is being raised (workflows starting, first pages going out);
2. while a Slack DM is in flight: the fake Slack has stored the post and holds
   its answer (stall_after_accept), so the worker dies not knowing;
3. while an SMS is in flight, the same way at the fake Twilio;
4. right after a restart, while the new worker is catching up;
5. while a level-2 channel post is in flight (the level's deadline has fired);
6. while the level-2 pages are still going out.

Then: every exception has its three pages at the providers exactly once, its
records say each was sent (one row per page), and no page waited longer than
a crash should cost (a heartbeat timeout and a restart, not a minute).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from fault_policy import LEADS_CHANNEL
from fault_processes import wait_until
from fault_stack import FaultStack

# The scenario, its settling deadline, the stack's start when this test runs first.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

BURST = 50
STALL = 15.0  # seconds a stalled answer is held: far longer than the kill takes
# Six kills and restarts within a minute add up for the pages caught in several of them:
# 53-89 s measured at load 5-7 on this 2-core machine (77 s before the rework, when the
# duplicates came too). How soon ONE crash's in-flight page is retried is checked on its
# own, against a bound of seconds, in test_heartbeat_retry.py; this bound only catches a
# page left waiting far past the kills.
WORST_DELAY = 120.0


async def _restart(live: FaultStack, kills: list[str], point: str) -> None:
    live.worker.kill9()
    kills.append(point)
    live.slack.faults.clear()  # the provider is healthy again; only the worker died
    live.twilio.faults.clear()
    await live.worker.start()


async def _kill_in_flight(live: FaultStack, provider: str, key: str, kills: list[str]) -> None:
    fake = live.slack if provider == "slack" else live.twilio
    before = fake.faults.stalled.get(key, 0)
    fake.faults.stall_after_accept(key, count=2, seconds=STALL)
    await wait_until(
        f"a {key} accepted and held", lambda: fake.faults.stalled.get(key, 0) > before, within=30
    )
    await _restart(live, kills, f"{key} in flight (accepted, answer held)")


async def test_worker_kill9_during_burst_loses_and_duplicates_nothing(live: FaultStack) -> None:
    subjects = [f"kill-{i}" for i in range(BURST)]
    names = set(subjects)
    kills: list[str] = []
    started = time.time()
    burst = asyncio.create_task(live.raise_burst(subjects))

    def pages_out() -> int:
        return sum(len(v) for v in live.received(names).values())

    await wait_until("the first pages of the burst", lambda: pages_out() >= 3, within=60)
    await _restart(live, kills, "during the burst of raises")
    await _kill_in_flight(live, "slack", "chat.postMessage", kills)
    await _kill_in_flight(live, "twilio", "Messages", kills)
    await asyncio.sleep(0.5)  # the new worker is replaying and retrying: kill it there
    await _restart(live, kills, "right after a restart")

    def level2_out() -> bool:
        return any(k[2] == LEADS_CHANNEL for k in live.received(names))

    await wait_until("the first level-2 page", level2_out, within=60)
    await _kill_in_flight(live, "slack", "chat.postMessage", kills)
    await _restart(live, kills, "while level-2 pages go out")
    raised_at = await asyncio.wait_for(burst, 60)

    def injected() -> int:
        return (
            len(kills) + live.slack.faults.injected(started) + live.twilio.faults.injected(started)
        )

    outcome = await live.settle(
        f"worker kill -9 x{len(kills)} during a burst of {BURST}",
        "kill -9 of `escalator worker` " + "; ".join(kills),
        injected,
        raised_at,
        within=90,
    )
    f = outcome.figures
    delay = f.worst_extra_delay_s
    found = {
        "kills": len(kills) >= 5,
        "lost, duplicated, recorded failed": (f.lost, f.duplicated, f.recorded_failed),
        "record problems": len(outcome.problems),
        f"worst extra delay <= {WORST_DELAY:g} s": delay is not None and delay <= WORST_DELAY,
    }
    wanted = {
        "kills": True,
        "lost, duplicated, recorded failed": (0, 0, 0),
        "record problems": 0,
        f"worst extra delay <= {WORST_DELAY:g} s": True,
    }
    assert found == wanted, outcome.summary()
