"""An error that reaches the CLI is one line on stderr, `error: ...; what to do`, and the exit
code of its branch (escalator/errors.py); anything else is one line naming it, exit 70, and
its traceback only with ESCALATOR_DEBUG=1. Real processes throughout, as a user runs
them: main() and the exit without teardown are only there."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporal_servers import dev_server_fixture
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from escalator.activities.channels import CapturingSender
from escalator.cli import temporal
from escalator.cli.errors import DEBUG_ENV, ExitCode
from escalator.cli.main import app
from escalator.stack.state_lock import StateLock
from escalator.worker.main import Wiring, build_worker

RAISING_CLI = str(Path(__file__).with_name("raising_cli.py"))
ESCALATOR = [sys.executable, "-m", "escalator.cli.main"]


def run(args: list[str], *, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "ESCALATOR_STATE_DIR": str(cwd / "state"), **env}
    for name in (DEBUG_ENV, "ESCALATOR_POLICY_DIR"):  # unless given: off, the shipped set
        if name not in env:
            environ.pop(name, None)
    return subprocess.run(args, cwd=cwd, env=environ, capture_output=True, text=True, timeout=90)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line, after checking that it is the only thing said."""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("kind", "code", "says", "what_to_do"),
    [
        (
            "policy",
            ExitCode.USAGE,
            "rules.yaml:4: rules[0].threshold: not a duration",
            "(and 1 more); fix the policies (`escalator policy check` lists every problem)",
        ),
        (
            "input",
            ExitCode.USAGE,
            "orders.csv: 12 of 40 rows quarantined",
            "; 9 rows: timestamp 'yesterday' is not ISO 8601",  # the message says what to fix
        ),
        (
            "refused",
            ExitCode.REFUSED,
            "already resolved by dirk at 10:02 UTC",
            "; nothing was changed",
        ),
        (
            "delivery",
            ExitCode.DELIVERY,
            "HTTP 503, retry after 5 s",
            "; check the provider's status and credentials, then try again",
        ),
        (
            "stack",
            ExitCode.STACK,
            "another `escalator up` (pid 42)",
            "stop it, or give this one its own state",  # the message says what to do
        ),
        (
            "bug",
            ExitCode.BUG,
            "unexpected RuntimeError: the row has no journey; caused by KeyError: 'journey'",
            f"; a bug in escalator: run again with {DEBUG_ENV}=1 for the traceback",
        ),
    ],
)
def test_each_branch_is_one_line_and_its_exit_code(
    kind: str, code: ExitCode, says: str, what_to_do: str, tmp_path: Path
) -> None:
    done = run([sys.executable, RAISING_CLI, "raise-error", kind], cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    line = one_line(done)
    assert says in line and what_to_do in line, line


def test_a_bug_shows_its_traceback_only_when_asked(tmp_path: Path) -> None:
    done = run(
        [sys.executable, RAISING_CLI, "raise-error", "bug"], cwd=tmp_path, **{DEBUG_ENV: "1"}
    )
    assert done.returncode == ExitCode.BUG
    assert "Traceback (most recent call last)" in done.stderr
    assert 'raise RuntimeError("the row has no journey")' in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("error: unexpected RuntimeError: the row has no journey")


def test_policies_that_do_not_load_are_one_line_exit_2(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "rules.yaml").write_text("rules:\n  - name: unpaid\n    threshold: soon\n")
    done = run(
        [*ESCALATOR, "raise", "--journey", "orderToShip", "--rule", "unpaid", "--subject", "o-1"],
        cwd=tmp_path,
        ESCALATOR_POLICY_DIR=str(policies),
    )
    assert done.returncode == ExitCode.USAGE, done.stderr
    line = one_line(done)
    assert line.startswith(f"error: {policies / 'rules.yaml'}:2: rules[0]")
    assert line.endswith("; fix the policies (`escalator policy check` lists every problem)")


def test_in_process_the_same_line_and_code_without_leaving_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CliRunner (the in-process tests) gets the line and the exit code too, and the process
    lives on even after an earlier command ran the Temporal SDK in it: only main(), in a
    real process, leaves without teardown."""
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "rules.yaml").write_text("rules:\n  - name: unpaid\n    threshold: soon\n")
    monkeypatch.setattr(temporal, "_sdk_used", True)  # as after `detect --watch` in-process
    args = ["silence", "add", "--journey", "orderToShip", "--reason", "r", "--as", "anna"]
    added = CliRunner().invoke(
        app,
        [*args, "--for", "1h", "--database-url", f"sqlite:///{tmp_path / 'r.db'}"],
        env={"ESCALATOR_POLICY_DIR": str(policies)},
    )
    assert added.exit_code == ExitCode.USAGE, added.output
    lines = added.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {policies / 'rules.yaml'}:2:")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_stack_that_cannot_start_is_one_line_exit_5(tmp_path: Path) -> None:
    state = tmp_path / "busy"
    held = StateLock(state)
    held.acquire()  # another `escalator up` is using the state directory
    try:
        done = run(
            [*ESCALATOR, "up", "--state-dir", str(state), "--port", str(free_port())],
            cwd=tmp_path,
            ESCALATOR_RECEIVER_PORT=str(free_port()),
        )
    finally:
        held.release()
    assert done.returncode == ExitCode.STACK, done.stderr
    line = one_line(done)
    assert f"another `escalator up` (pid {os.getpid()}) is using {state}" in line


server = pytest.fixture(dev_server_fixture, scope="module", name="server")


@pytest.mark.temporal
async def test_a_refusal_by_the_workflow_is_one_line_exit_1(
    server: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The real workflow refuses (ApplicationError of type "Refused"); the client side turns
    it into a RefusedError, which the CLI prints with the workflow's reason."""
    task_queue = f"errors-{uuid.uuid4().hex[:8]}"
    channel = CapturingSender()
    wiring = Wiring(senders={"slack": channel, "sms": channel}, fallback=channel)
    env = {  # the shipped starter policies: mallory is in no role
        "TEMPORAL_ADDRESS": server.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run([*ESCALATOR, *args], cwd=tmp_path, **env)

    subject = f"o-{uuid.uuid4().hex[:6]}"
    raise_args = ("raise", "--journey", "orderToShip", "--rule", "payment_pending")
    # The CLI runs off the event loop: the worker in this process keeps polling meanwhile.
    async with build_worker(server.client, task_queue, wiring):
        raised = await asyncio.to_thread(cli, *raise_args, "--subject", subject)
        assert raised.returncode == ExitCode.OK, raised.stderr
        refused = await asyncio.to_thread(cli, "ack", raised.stdout.strip(), "--as", "mallory")
    assert refused.returncode == ExitCode.REFUSED, refused.stderr
    assert refused.stdout == ""
    line = one_line(refused)
    assert line.startswith("error: mallory ") and line.endswith("; nothing was changed"), line
