"""Temporal answers, no worker polls: the CLI never hangs and says what became of the request.

A real dev server, the real `escalator` process; the worker is started in the test only
to prove that what the CLI said was kept (the detection, the acknowledgement) is applied
when a worker comes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporal_servers import dev_server_fixture
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from escalator.activities.channels import CapturingSender
from escalator.cli.errors import ExitCode
from escalator.client import exception_handle
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.contracts import ExceptionState, ExceptionStatus

pytestmark = pytest.mark.temporal
ESCALATOR = str(Path(sys.executable).parent / "escalator")
TIMEOUT = 2.0
# Process start (~2 s on a shared 2-core machine), connect, the wait, the diagnosis probes.
WITHIN = TIMEOUT + 12


@dataclass
class Cli:
    env: dict[str, str]
    task_queue: str
    server: WorkflowEnvironment

    async def __call__(self, *args: str) -> tuple[int, str, str, float]:
        began = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            ESCALATOR,
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        took = time.monotonic() - began
        return proc.returncode or 0, out.decode().strip(), err.decode().strip(), took


server = pytest.fixture(dev_server_fixture, scope="module", name="server")


@pytest.fixture
def cli(server: WorkflowEnvironment, tmp_path: Path) -> Cli:
    task_queue = f"no-worker-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": server.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "ESCALATOR_STATE_DIR": str(tmp_path),
    }
    env.pop("ESCALATOR_POLICY_DIR", None)  # the shipped starter policies
    return Cli(env, task_queue, server)


def raise_args(subject: str, *extra: str) -> tuple[str, ...]:
    return (
        "raise",
        "--journey",
        "orderToShip",
        "--rule",
        "awaiting_inventory",
        "--subject",
        subject,
        "--timeout",
        str(TIMEOUT),
        *extra,
    )


async def status_when(cli: Cli, xid: str, check: object, within: float = 30) -> ExceptionStatus:
    handle = exception_handle(cli.server.client, xid)
    deadline = time.monotonic() + within
    while True:
        status = await handle.query("status", result_type=ExceptionStatus)
        if check(status):  # type: ignore[operator]
            return status
        assert time.monotonic() < deadline, f"{xid}: not reached, last {status}"
        await asyncio.sleep(0.2)


def worker(cli: Cli) -> Worker:
    channel = CapturingSender()
    wiring = Wiring(senders={"slack": channel, "sms": channel}, fallback=channel)
    return build_worker(cli.server.client, cli.task_queue, wiring)


async def test_raise_without_a_worker_returns_and_takes_effect_later(cli: Cli) -> None:
    subject = f"o-{uuid.uuid4().hex[:6]}"
    # A new exception: Temporal alone says this call started it.
    code, out, err, took = await cli(*raise_args(subject, "--json"))
    assert code == ExitCode.OK, err
    first = json.loads(out)
    assert (first["outcome"], first["occurrences"]) == ("new", 1)
    assert took < WITHIN and "Traceback" not in err
    xid = first["exception_id"]

    # A second detection of the running exception: kept by Temporal, outcome pending.
    second = ("--attr", "qty=3", "--onset", "2026-03-02T10:00:00+00:00", "--json")
    code, out, err, took = await cli(*raise_args(subject, *second))
    assert code == ExitCode.OK, err
    assert json.loads(out)["outcome"] == "pending"
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "accepted, outcome pending" in lines[0]
    assert f"no worker is polling task queue {cli.task_queue}" in lines[0]
    assert took < WITHIN

    # A worker comes: both detections were kept, the second counted once.
    async with worker(cli):
        await status_when(cli, xid, lambda s: s.occurrences == 2 and s.level == 1)
        # With a worker the outcome is reported, and the very same detection (the
        # pending one, sent again) is not counted twice.
        code, out, err, _ = await cli(*raise_args(subject, *second))
        assert code == ExitCode.OK, err
        again = json.loads(out)
        assert (again["outcome"], again["occurrences"]) == ("duplicate", 2)


async def test_ack_without_a_worker_waits_timeout_and_is_held(cli: Cli) -> None:
    async with worker(cli):  # paged at level 1, then every worker stops
        code, xid, err, _ = await cli(*raise_args(f"o-{uuid.uuid4().hex[:6]}"))
        assert code == ExitCode.OK, err
        await status_when(cli, xid, lambda s: s.level == 1)

    code, _, err, took = await cli("ack", xid, "--as", "anna", "--timeout", str(TIMEOUT))
    assert code == ExitCode.NO_ANSWER, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"escalator: no answer within {TIMEOUT:g} s: ")
    # The worker that just stopped is still listed by the server for a minute.
    assert f"polled task queue {cli.task_queue}" in lines[0]
    assert "Temporal holds your acknowledgement (admitted" in lines[0]
    assert TIMEOUT <= took < WITHIN

    async with worker(cli):  # what the CLI said was held is applied
        status = await status_when(cli, xid, lambda s: s.state is ExceptionState.ACKNOWLEDGED)
        assert status.acknowledged_by == "anna"


RESPONSES = [
    ("resolve", "--note", "restocked"),
    ("snooze", "--for", "30m"),
    ("reassign", "--to", "billing"),
    ("escalate",),
    ("note", "--text", "looking"),
]


async def test_every_response_waits_at_most_timeout(cli: Cli) -> None:
    """Every other response, each on an exception of its own, all at once (one process
    each, as five people would answer)."""

    async def answer(verb: str, *rest: str) -> tuple[str, int, str, float]:
        code, xid, err, _ = await cli(*raise_args(f"o-{uuid.uuid4().hex[:6]}"))
        assert code == ExitCode.OK, err
        code, _, err, took = await cli(verb, xid, "--as", "anna", *rest, "--timeout", str(TIMEOUT))
        return verb, code, err, took

    answers = await asyncio.gather(*(answer(*args) for args in RESPONSES))
    for verb, code, err, took in answers:
        assert code == ExitCode.NO_ANSWER, (verb, err)
        lines = err.splitlines()
        assert len(lines) == 1 and "Traceback" not in err, (verb, err)
        assert f"no worker is polling task queue {cli.task_queue}" in lines[0], (verb, err)
        assert "admitted" in lines[0], (verb, err)
        # Five processes start at once on the machine: their start-up is shared, the wait
        # for the answer is not.
        assert TIMEOUT <= took < WITHIN + len(RESPONSES), (verb, took)


async def test_status_and_digest_run_do_not_hang(cli: Cli) -> None:
    code, xid, err, _ = await cli(*raise_args(f"o-{uuid.uuid4().hex[:6]}"))
    assert code == ExitCode.OK, err
    for args in (("status", xid), ("digest", "run", "inventory")):
        code, _, err, took = await cli(*args, "--timeout", str(TIMEOUT))
        assert code == ExitCode.NO_ANSWER, (args, err)
        lines = err.splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert f"no worker is polling task queue {cli.task_queue}" in lines[0]
        assert took < WITHIN
    # Listing needs no worker (visibility is the server's).
    code, out, err, _ = await cli("list", "--json", "--timeout", str(TIMEOUT))
    assert code == ExitCode.OK, err
    assert xid in {row["exception_id"] for row in json.loads(out)}
