"""Answering a whole storm: `escalator storm ack | resolve`, and the fan-out behind them.

The CLI runs as a real subprocess against the module's Temporal server (time-skipping
by default); the worker runs here with in-memory records and a capturing channel.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from storm_helpers import StormHarness, storm_harness_fixture, storm_policy

from escalator.client import raise_exception
from escalator.receiver.responses import Outcome
from escalator.receiver.storm_responses import fan_out
from escalator.workflows.contracts import Detection, ExceptionState, ExceptionStatus, StepKind
from escalator.workflows.storm_contracts import StormState, storm_id

storm_harness = pytest.fixture(storm_harness_fixture)
ESCALATOR = str(Path(sys.executable).parent / "escalator")
SID = storm_id("orderToShip", "awaiting_inventory", "inventory")


def eid(subject: str) -> str:
    return f"exc:orderToShip:awaiting_inventory:{subject}"


async def cli(h: StormHarness, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": h.env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": h.env.client.namespace,
    }
    proc = await asyncio.create_subprocess_exec(
        ESCALATOR,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode().strip(), err.decode().strip()


@pytest.mark.temporal
@pytest.mark.time_skipping_only  # minutes of policy time pass in env.sleep
async def test_storm_ack_and_resolve_from_the_cli(storm_harness) -> None:
    h: StormHarness = await storm_harness()
    policy = storm_policy(threshold=1)
    subjects = [f"c-{i}" for i in range(4)]  # c-0 pages alone, c-1..c-3 are the storm
    h.workflow_ids.update([SID, *map(eid, subjects)])
    for i, s in enumerate(subjects):
        onset = datetime(2026, 3, 2, 7, 0, tzinfo=UTC) + timedelta(minutes=i)
        detection = Detection(
            journey="orderToShip", rule="awaiting_inventory", subject=s, onset=onset
        )
        await raise_exception(h.client, detection, policy=policy, task_queue=h.task_queue)

        # a typed default, where a lambda's `s=s` leaves mypy unable to infer it
        def joined(s: str = s) -> bool:
            return eid(s) in h.recorded(StepKind.GROUPED) | h.recorded(StepKind.NOTIFIED)

        await h.eventually(joined)
    await h.eventually(lambda: bool(h.sends("storm")))
    members = [eid(s) for s in subjects[1:]]

    code, out, err = await cli(h, "storm", "ack", SID, "--as", "maria")
    assert code == 1 and "maria is not in inventory or incident-leads" in err, (out, err)
    code, out, err = await cli(h, "storm", "ack", SID, "--as", "alice")
    assert code == 0, err
    assert "storm acknowledged by alice" in out and "3 of 3 open exceptions acknowledged" in out
    state = await h.client.get_workflow_handle(SID).query("state", result_type=StormState)
    assert state.acknowledged_by == "alice" and state.ack_due is None
    for x in members:
        s = await h.client.get_workflow_handle(x).query("status", result_type=ExceptionStatus)
        assert (s.state, s.acknowledged_by) == (ExceptionState.ACKNOWLEDGED, "alice")

    # Acknowledged and quiet: the storm ends; its message (and id) still answer, each
    # member authorizing the responder itself.
    await h.env.sleep(timedelta(minutes=6))
    await h.eventually(lambda: h.storm_messages()[-1].notification.status.payload["over"])
    code, out, err = await cli(h, "storm", "resolve", SID, "--as", "maria", "--note", "x")
    assert code == 1 and "maria is not in inventory or incident-leads" in out, (out, err)
    code, out, err = await cli(h, "storm", "resolve", SID, "--as", "bob", "--note", " ")
    assert code == 2 and "--note must say what was done" in err
    learning = ["--cause", "stock_sync", "--confirmed"]
    code, out, err = await cli(
        h, "storm", "resolve", SID, "--as", "bob", "--note", "x", *learning, "--false-alarm"
    )
    assert code == 2 and "--false-alarm and --confirmed contradict each other" in err
    code, out, err = await cli(
        h, "storm", "resolve", SID, "--as", "bob", "--note", "restocked", *learning
    )
    assert code == 0, (out, err)
    assert "3 of 3 open exceptions resolved by bob (confirmed, cause stock_sync)" in out
    await h.eventually(lambda: set(members) <= h.recorded(StepKind.RESOLVED))
    assert out.startswith(f"storm {SID} is over")
    for x in members:  # each member's resolution carries what the learning loop counts
        s = await h.client.get_workflow_handle(x).query("status", result_type=ExceptionStatus)
        [step] = [t for t in s.timeline if t.kind is StepKind.RESOLVED]
        assert (step.detail["cause"], step.detail["real"]) == ("stock_sync", True)
    code, out, err = await cli(h, "storm", "ack", "storm:no:such:storm", "--as", "alice")
    assert code == 1 and "no storm storm:no:such:storm" in err


async def test_500_members_are_answered_many_at_a_time() -> None:
    """Slack's 3-second window is no place for 500 round trips one after the other."""
    in_flight = peak = 0

    async def answer(xid: str) -> Outcome:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)  # one update round trip
        in_flight -= 1
        return Outcome(xid != "x-7", "already acknowledged by bob")

    started = time.monotonic()
    done, refused = await fan_out([f"x-{i}" for i in range(500)], answer, 50)
    took = time.monotonic() - started
    assert (done, dict(refused)) == (499, {"already acknowledged by bob": 1})
    assert peak == 50  # bounded: never 500 updates at once against the server
    assert took < 1.5, took  # one after the other: 10 s
