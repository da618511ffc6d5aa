"""`escalator up` as users run it: a real process, a real dev server, real signals."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import uuid
from pathlib import Path

import pytest
from stack_helpers import alive, free_port, processes_mentioning, up, wait_until
from temporalio.client import Client, WorkflowExecutionStatus

from escalator.cli.errors import ExitCode
from escalator.stack.temporal_admin import registered_search_attributes
from escalator.workflows.search_attributes import ALL_KEYS

pytestmark = pytest.mark.temporal


def _server_pid(output_line_match: object) -> int:
    return int(output_line_match.group(1))  # type: ignore[attr-defined]


async def _client(port: int) -> Client:
    return await Client.connect(f"localhost:{port}")


async def test_up_registers_search_attributes_and_sigterm_leaves_nothing(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    stack = up(port, ui_port, tmp_path)
    try:
        server = _server_pid(stack.wait_for(r"starting the dev server .*pid (\d+)"))
        stack.wait_for(r"Running\. Press Ctrl-C")
        assert f"Temporal Web UI: http://localhost:{ui_port}" in stack.output
        # Both components run as children of the supervisor.
        for name in ("worker", "receiver"):
            assert any(
                line.startswith(f"escalator {name}") and "running (pid" in line
                for line in stack.lines
            ), (name, stack.lines)
        client = await _client(port)
        registered = await registered_search_attributes(client)
        for key in ALL_KEYS:
            assert key.name in registered
        assert registered["EscalatorLevel"] == "Int"
        assert registered["EscalatorJourney"] == "Keyword"
        assert (tmp_path / "temporal.db").exists()

        children = [int(pid) for pid in re.findall(r"pid (\d+)", stack.output)]
        assert server in children

        stack.signal(signal.SIGTERM)
        assert stack.finish() == 0, stack.output
        assert "Stopped." in stack.output
        assert [pid for pid in children if alive(pid)] == []
        assert processes_mentioning(str(tmp_path)) == []
    finally:
        stack.kill()


async def test_second_up_resumes_open_workflows(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    first = up(port, ui_port, tmp_path)
    workflow_id = f"resume-{uuid.uuid4()}"
    try:
        first.wait_for(r"Running\. Press Ctrl-C")
        client = await _client(port)
        # No worker needed: an open workflow is open whether or not anyone polls for it.
        await client.start_workflow("NotRegisteredAnywhere", id=workflow_id, task_queue="nobody")
        # The server writes through SQLite's write-ahead log (DEV_SERVER_PRAGMAS).
        assert (tmp_path / "temporal.db-wal").exists()
        first.signal(signal.SIGINT)
        assert first.finish() == 0, first.output
    finally:
        first.kill()

    second = up(port, ui_port, tmp_path)
    try:
        second.wait_for(r"Running\. Press Ctrl-C")
        assert "Search attributes: all already registered" in second.output
        client = await _client(port)
        description = await client.get_workflow_handle(workflow_id).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
        second.signal(signal.SIGTERM)
        assert second.finish() == 0, second.output
    finally:
        second.kill()


async def test_a_dead_child_stops_up_with_its_name(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    stack = up(port, ui_port, tmp_path)
    try:
        server = _server_pid(stack.wait_for(r"starting the dev server .*pid (\d+)"))
        stack.wait_for(r"Running\. Press Ctrl-C")
        children = [int(pid) for pid in re.findall(r"pid (\d+)", stack.output)]
        os.kill(server, signal.SIGKILL)
        assert stack.finish() == 1, stack.output
        assert "temporal dev server stopped unexpectedly (killed by SIGKILL)" in stack.output
        assert [pid for pid in children if alive(pid)] == []
        assert processes_mentioning(str(tmp_path)) == []
    finally:
        stack.kill()


async def test_sigkill_of_up_takes_the_server_down_too(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    stack = up(port, ui_port, tmp_path)
    try:
        server = _server_pid(stack.wait_for(r"starting the dev server .*pid (\d+)"))
        stack.wait_for(r"Running\. Press Ctrl-C")
        stack.signal(signal.SIGKILL)
        stack.finish()
        # up had no chance to clean up: the parent-death signal must do it.
        assert wait_until(lambda: not alive(server), timeout=15), "dev server orphaned"
    finally:
        stack.kill()
    # The state-dir lock died with its killed holder: the next start is not blocked.
    again = up(free_port(), free_port(), tmp_path)
    try:
        again.wait_for(r"Running\. Press Ctrl-C")
        again.signal(signal.SIGTERM)
        assert await asyncio.to_thread(again.finish) == 0, again.output
    finally:
        again.kill()


async def test_up_joins_a_server_that_already_answers(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    first = up(port, ui_port, tmp_path / "first")
    try:
        server = _server_pid(first.wait_for(r"starting the dev server .*pid (\d+)"))
        first.wait_for(r"Running\. Press Ctrl-C")
        second = up(port, free_port(), tmp_path / "second")
        try:
            second.wait_for(f"using the server already running at localhost:{port}")
            assert "starting the dev server" not in second.output
            if second.process.poll() is None:  # it runs built components: stop them
                second.signal(signal.SIGTERM)
            assert second.finish() == 0, second.output
        finally:
            second.kill()
        assert not (tmp_path / "second" / "temporal.db").exists()
        assert alive(server), "the second up must not touch the server it did not start"
        first.signal(signal.SIGTERM)
        assert first.finish() == 0
    finally:
        first.kill()


@pytest.mark.parametrize("taken", ["grpc", "ui"])
async def test_a_taken_port_is_named_with_what_to_do(tmp_path: Path, taken: str) -> None:
    port, ui_port = free_port(), free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port if taken == "grpc" else ui_port))
        squatter.listen()
        stack = up(port, ui_port, tmp_path)
        try:
            code = await asyncio.to_thread(stack.finish)
        finally:
            stack.kill()
    assert code == ExitCode.STACK, stack.output
    if taken == "grpc":
        assert f"port {port} (Temporal gRPC) is in use" in stack.output
        assert f"escalator up --port {port + 1}" in stack.output
    else:
        assert f"port {ui_port} (Temporal Web UI) is already in use" in stack.output
        assert f"escalator up --ui-port {ui_port + 1}" in stack.output
    assert "Traceback" not in stack.output
    assert not (tmp_path / "temporal.db").exists()


async def test_one_up_per_state_dir(tmp_path: Path) -> None:
    first = up(free_port(), free_port(), tmp_path)
    try:
        first.wait_for(r"Running\. Press Ctrl-C")
        second = up(free_port(), free_port(), tmp_path)
        try:
            code = await asyncio.to_thread(second.finish)
        finally:
            second.kill()
        assert code == ExitCode.STACK, second.output
        assert f"another `escalator up` (pid {first.process.pid}) is using {tmp_path}" in (
            second.output
        )
        assert "--state-dir" in second.output
        first.signal(signal.SIGTERM)
        assert first.finish() == 0
    finally:
        first.kill()


async def test_a_taken_receiver_port_is_named(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        stack = up(port, ui_port, tmp_path, env={"ESCALATOR_RECEIVER_PORT": str(taken)})
        try:
            assert await asyncio.to_thread(stack.finish) == ExitCode.STACK, stack.output
            assert f"port {taken} (escalator receiver) is already in use" in stack.output
            assert "ESCALATOR_RECEIVER_PORT" in stack.output
        finally:
            stack.kill()
