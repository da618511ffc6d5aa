"""`escalator raise | list | status | ack | resolve` as scripts call them, against a dev server.

`list` needs visibility, which only the dev server has, so this module starts
its own dev server whatever --workflow-environment says. The CLI runs as a
real subprocess; the worker runs in the test, wired to in-memory fakes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from policy_factory import detection, make_policy
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from escalator.activities.channels import CapturingSender
from escalator.client import exception_handle, raise_exception, with_pydantic
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.contracts import (
    AddNoteInput,
    EscalateNowInput,
    ExceptionStatus,
    UpdateResult,
)

pytestmark = [pytest.mark.temporal, pytest.mark.own_dev_server]
ESCALATOR = str(Path(sys.executable).parent / "escalator")


@dataclass
class Cli:
    env: dict[str, str]
    client: Client

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            ESCALATOR,
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode().strip(), err.decode().strip()


@pytest.fixture
async def cli(dev_server: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Cli]:
    task_queue = f"cli-{uuid.uuid4()}"
    channel = CapturingSender()
    wiring = Wiring(senders={"slack": channel, "sms": channel}, fallback=channel)
    worker = build_worker(dev_server.client, task_queue, wiring)
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "ESCALATOR_STATE_DIR": str(tmp_path),
    }
    env.pop("ESCALATOR_POLICY_DIR", None)  # the shipped starter policies
    async with worker:
        yield Cli(env, dev_server.client)


async def eventually(cli: Cli, args: tuple[str, ...], check: object, tries: int = 60) -> object:
    for _ in range(tries):
        code, out, err = await cli(*args)
        assert code == 0, err
        data = json.loads(out)
        if check(data):  # type: ignore[operator]
            return data
        await asyncio.sleep(0.25)
    raise AssertionError(f"{args}: condition not reached, last output {out}")


async def test_raise_status_list_ack_resolve(cli: Cli) -> None:
    case = f"o-{uuid.uuid4().hex[:6]}"
    raise_args = ("raise", "--journey", "orderToShip", "--rule", "payment_pending")
    code, out, err = await cli(*raise_args, "--subject", case, "--attr", "amount=12.50")
    assert code == 0, err
    eid = out
    assert eid == f"exc:orderToShip:payment_pending:{case}"

    # Raising again is idempotent: the same id, one more occurrence.
    code, out, err = await cli(*raise_args, "--subject", case, "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["exception_id"], again["outcome"], again["occurrences"]) == (eid, "duplicate", 2)

    status = await eventually(cli, ("status", eid, "--json"), lambda s: s["level"] == 1)
    assert status["owner_role"] == "billing" and status["state"] == "open"  # type: ignore[index]
    code, out, _ = await cli("status", eid)
    assert f"{eid}: open, level 1, billing" in out and "notified level 1" in out

    listed = await eventually(
        cli,
        ("list", "--state", "open", "--json"),
        lambda rows: eid in {r["exception_id"] for r in rows},
    )
    row = next(r for r in listed if r["exception_id"] == eid)  # type: ignore[attr-defined]
    assert (row["journey"], row["rule"], row["level"]) == ("orderToShip", "payment_pending", 1)

    # An incident lead's view: escalated orderToShip exceptions at level >= 2.
    escalated = ("list", "--journey", "orderToShip", "--min-level", "2", "--json")
    code, out, err = await cli(*escalated)
    assert code == 0 and eid not in out, err
    handle = exception_handle(with_pydantic(cli.client), eid)
    await handle.execute_update(
        "escalate_now", EscalateNowInput(actor="dirk"), result_type=UpdateResult
    )
    await eventually(cli, escalated, lambda rows: eid in {r["exception_id"] for r in rows})

    code, out, err = await cli("ack", eid, "--as", "mallory")
    assert code == 1 and "mallory is not in billing or incident-leads" in err, err
    code, out, err = await cli("ack", eid, "--as", "dirk")
    assert code == 0 and out.startswith("acknowledged by dirk"), err
    code, out, err = await cli("resolve", eid, "--as", "dirk", "--note", "card retried")
    assert (code, out) == (0, "resolved by dirk"), err
    code, out, err = await cli("resolve", eid, "--as", "eva", "--note", "again")
    assert code == 1 and "already resolved by dirk at" in err

    await eventually(
        cli,
        ("list", "--state", "resolved", "--json"),
        lambda rows: eid in {r["exception_id"] for r in rows},
    )


async def test_bad_input_is_explained(cli: Cli) -> None:
    code, _, err = await cli(
        "raise", "--journey", "orderToShip", "--rule", "no_such_rule", "--subject", "x"
    )
    assert code == 2 and "no rule named 'no_such_rule'" in err
    code, _, err = await cli(
        "raise", "--journey", "orderToShip", "--rule", "payment_pending", "--subject", "x",
        "--attr", "oops",
    )  # fmt: skip
    assert code == 2 and "--attr expects key=value" in err
    code, _, err = await cli("list", "--state", "sleeping")
    assert code == 2 and "--state must be one of" in err


async def test_list_shows_an_exception_that_continued_as_new_once(cli: Cli) -> None:
    client = with_pydantic(cli.client)
    task_queue = cli.env["TEMPORAL_TASK_QUEUE"]
    policy = make_policy(timedelta(minutes=1))  # nothing comes due during the test
    d = detection(f"order-{uuid.uuid4().hex[:8]}")
    raised = await raise_exception(
        client, d, policy=policy, task_queue=task_queue, history_limit=50
    )
    eid = raised.exception_id
    handle = exception_handle(client, eid)
    # Only a role that was told may add a note: wait for the first page (who is on call is
    # asked of an activity first).
    for _ in range(200):
        status = await handle.query("status", result_type=ExceptionStatus)
        if "inventory" in status.notified_roles:
            break
        await asyncio.sleep(0.05)
    first_run = (await handle.describe()).run_id
    for n in range(60):  # notes fill the history until the run continues as new
        if (await handle.describe()).run_id != first_run:
            break
        await handle.execute_update(
            "add_note", AddNoteInput(actor="alice", note=f"n{n}"), result_type=UpdateResult
        )
    assert (await handle.describe()).run_id != first_run
    rows = await eventually(
        cli,
        ("list", "--journey", "orderToShip", "--json"),
        lambda rows: eid in {r["exception_id"] for r in rows},
    )
    assert [r["exception_id"] for r in rows].count(eid) == 1  # type: ignore[attr-defined]
    await handle.terminate("test finished")
