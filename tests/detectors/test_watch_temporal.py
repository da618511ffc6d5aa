"""Watch mode end to end: SQLite source -> Watcher -> raise_exception -> a real Temporal
server running the EscalationWorkflow; then condition_cleared resolves it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from typer.testing import CliRunner
from watch_helpers import config, create_table, insert, watch_policies

from escalator.activities.channels import CapturingSender
from escalator.cli.main import app
from escalator.client import exception_handle
from escalator.detectors.watch import TemporalSink, Watcher
from escalator.worker.main import Wiring, build_worker
from escalator.workflows.contracts import ExceptionState, ExceptionStatus

pytestmark = pytest.mark.temporal


async def _status(client: Client, key: str) -> ExceptionStatus:
    return await exception_handle(client, key).query("status", result_type=ExceptionStatus)


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def _wiring() -> Wiring:
    channel = CapturingSender()
    return Wiring(
        senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
        fallback=channel,
    )


async def test_watch_raises_once_and_clears_through_temporal(
    client: Client, task_queue: str, tmp_path: Path
) -> None:
    ps = watch_policies()
    url, table = f"sqlite:///{tmp_path / 'events.db'}", "events"
    engine = create_table(url, table)
    now = datetime.now(UTC).replace(microsecond=0)
    insert(engine, table, ("A", "waiting", (now - timedelta(hours=2)).isoformat()))
    cfg = config(tmp_path, url, table)
    key = "exc:orders:stuck:A"
    async with build_worker(client, task_queue, _wiring()):
        w = Watcher(cfg, ps, ps.journeys[0], TemporalSink(client, ps, task_queue))
        assert (await w.poll_once()).raised == [key]
        status = await _status(client, key)
        assert status.state is ExceptionState.OPEN
        assert status.onset == now - timedelta(hours=1)  # the onset, not the moment noticed
        assert status.subject == "A" and status.rule == "stuck"
        w.close()

        # A restarted watcher does not report the same exception again.
        w = Watcher(cfg, ps, ps.journeys[0], TemporalSink(client, ps, task_queue))
        assert (await w.poll_once()).raised == []
        assert (await _status(client, key)).occurrences == 1

        # The case leaves the state: condition_cleared reaches the workflow, which resolves.
        insert(engine, table, ("A", "allocated", datetime.now(UTC).isoformat()))
        assert (await w.poll_once()).cleared == [key]
        w.close()

        async def resolved() -> bool:
            return (await _status(client, key)).state is ExceptionState.RESOLVED

        await _eventually(resolved)
    engine.dispose()


async def test_cli_watch_once_raises_through_temporal(
    client: Client, task_queue: str, tmp_path: Path
) -> None:
    import json

    policy = tmp_path / "policy.json"  # JSON is YAML: the loader reads it
    from watch_helpers import WATCH_POLICY

    policy.write_text(json.dumps(WATCH_POLICY))
    policy = policy.rename(tmp_path / "policy.yaml")
    url = f"sqlite:///{tmp_path / 'events.db'}"
    engine = create_table(url, "events")
    now = datetime.now(UTC).replace(microsecond=0)
    insert(engine, "events", ("Z", "waiting", (now - timedelta(hours=3)).isoformat()))
    target = client.service_client.config.target_host
    env = {
        "TEMPORAL_ADDRESS": target,
        "TEMPORAL_NAMESPACE": client.namespace,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "ESCALATOR_STATE_DIR": str(tmp_path / "state"),
    }
    args = [
        "detect",
        "--watch",
        "--once",
        "--source",
        url,
        "--table",
        "events",
        "--policy",
        str(policy),
    ]
    async with build_worker(client, task_queue, _wiring()):
        result = await asyncio.to_thread(CliRunner().invoke, app, args, env=env)
        assert result.exit_code == 0, result.output
        assert "raised 1" in result.stderr
        status = await _status(client, "exc:orders:stuck:Z")
        assert status.state is ExceptionState.OPEN
        # Run again: the state file under ESCALATOR_STATE_DIR prevents a second raise.
        result = await asyncio.to_thread(CliRunner().invoke, app, args, env=env)
        assert result.exit_code == 0 and "raised 0" in result.stderr
        assert (await _status(client, "exc:orders:stuck:Z")).occurrences == 1
    assert (tmp_path / "state" / "watch" / "orders.events.json").exists()
    engine.dispose()
