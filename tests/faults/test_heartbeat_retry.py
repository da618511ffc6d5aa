"""A page in flight when its worker dies is retried within seconds, and not posted twice.

The fake Slack accepts the on-call member's DM and holds the answer; the
worker is killed with SIGKILL and started again at once. The deliver activity
heartbeats every second with a 5 s heartbeat timeout, so the retry comes after
seconds, not after a start-to-close timeout (60 s before issue 11). The retry
finds the DM Slack already holds (conversations.open, then the key in the
history) and posts nothing.
"""

from __future__ import annotations

import time

import pytest
from fault_policy import DM_USER
from fault_processes import wait_until
from fault_stack import FaultStack

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

RETRY_WITHIN = 15.0  # heartbeat timeout 5 s + first retry interval 1 s + a loaded machine


async def test_a_page_in_flight_is_retried_within_seconds_of_the_crash(live: FaultStack) -> None:
    slack = live.slack
    slack.faults.stall_after_accept("chat.postMessage", count=1, seconds=8)
    stalled = slack.faults.stalled.get("chat.postMessage", 0)
    subject = "heartbeat-0"
    await live.raise_one(subject)
    await wait_until(
        "the DM accepted and its answer held",
        lambda: slack.faults.stalled.get("chat.postMessage", 0) > stalled,
        within=60,
    )
    lookups = len(slack.calls_to("conversations.history"))
    live.worker.kill9()
    slack.faults.clear()
    await live.worker.start()
    ready = time.monotonic()
    await wait_until(
        "the retry looked the DM up",
        lambda: len(slack.calls_to("conversations.history")) > lookups,
        within=90,
    )
    retried_after = time.monotonic() - ready

    def dm_posts() -> int:
        return sum(
            1
            for (s, channel, target), copies in live.received({subject}).items()
            if channel == "slack_dm" and target == DM_USER
            for _ in copies
        )

    await wait_until("the records say the DM was sent", lambda: dm_posts() >= 1, within=30)
    found = {"retried within": retried_after <= RETRY_WITHIN, "DM copies": dm_posts()}
    assert found == {"retried within": True, "DM copies": 1}, f"retry after {retried_after:.1f} s"
