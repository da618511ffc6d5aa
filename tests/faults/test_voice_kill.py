"""A voice call in flight when its worker dies: placed again, and only then.

Slack and Twilio messages can be looked up after a crash (docs/reliability.md), so
their retry never sends twice. A voice call cannot: Twilio's call list has no body to
match, so the retry of a call whose answer was lost places it again. This scenario
measures how often that happens, and proves it happens ONLY there: the fake Twilio
accepts the first ``HELD`` calls and holds their answers, the worker is killed with
SIGKILL while they are held, and restarted. Every exception must get its call and its
level-2 post. The calls placed twice must include the held ones and be only calls
Twilio had accepted before the kill: a call accepted in the same instant as the kill
whose answer the worker never read is in flight too (CI saw one such third call), but a
call first placed after the restart must never be placed again.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from fault_policy import PHONE, VOICE_PAGES, fault_policy, voice_policy
from fault_processes import wait_until
from fault_stack import FaultStack

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

CALLS = 8
HELD = 2
STALL = 15.0  # seconds a held answer is kept: far longer than the kill takes


async def test_voice_calls_in_flight_at_a_crash_are_placed_again_and_no_others(
    live: FaultStack,
) -> None:
    subjects = [f"voice-{i}" for i in range(CALLS)]
    twilio = live.twilio
    live.policy = voice_policy()
    try:
        before = twilio.faults.stalled.get("Calls", 0)
        twilio.faults.stall_after_accept("Calls", count=HELD, seconds=STALL)
        started = time.time()
        burst = asyncio.create_task(live.raise_burst(subjects))
        await wait_until(
            f"{HELD} calls accepted and their answers held",
            lambda: twilio.faults.stalled.get("Calls", 0) - before >= HELD,
            within=60,
        )
        live.worker.kill9()
        killed_at = time.time()  # the fakes stamp acceptance with the wall clock too
        twilio.faults.clear()
        await live.worker.start()
        raised_at = await asyncio.wait_for(burst, 60)
        outcome = await live.settle(
            f"worker kill -9 with {HELD} voice calls in flight, {CALLS} exceptions",
            f"kill -9 of `escalator worker` while Twilio held the answers of {HELD} calls",
            lambda: 1 + twilio.faults.injected(started),
            raised_at,
            within=90,
            pages=VOICE_PAGES,
        )
    finally:
        live.policy = fault_policy()  # the next scenario runs the usual policy
    f = outcome.figures
    calls = {k: v for k, v in live.received(set(subjects)).items() if k[1] == "voice"}
    twice = sorted(k[0] for k, copies in calls.items() if len(copies) > 1)
    in_flight = {k[0] for k, copies in calls.items() if copies[0] < killed_at}
    found = {
        "lost, recorded failed": (f.lost, f.recorded_failed),
        "record problems": len(outcome.problems),
        "held calls placed twice": len(twice) >= HELD,
        "calls placed twice that were not in flight at the kill": sorted(set(twice) - in_flight),
        "a call placed three times": any(len(c) > 2 for c in calls.values()),
        "every call to the on-call phone": {k[2] for k in calls} == {PHONE},
        "duplicates that are not calls": f.duplicated - len(twice),
    }
    wanted = {
        "lost, recorded failed": (0, 0),
        "record problems": 0,
        "held calls placed twice": True,
        "calls placed twice that were not in flight at the kill": [],
        "a call placed three times": False,
        "every call to the on-call phone": True,
        "duplicates that are not calls": 0,
    }
    assert found == wanted, outcome.summary()
