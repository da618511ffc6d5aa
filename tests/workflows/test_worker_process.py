"""`escalator worker` as `escalator up` runs it: its own process, SQL records, metrics, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from harness import has, subject
from policy_factory import detection, make_policy
from temporalio.testing import WorkflowEnvironment

from escalator.client import exception_handle, raise_exception
from escalator.records.store import Store
from escalator.workflows.contracts import AcknowledgeInput, ExceptionStatus, StepKind, UpdateResult

pytestmark = [pytest.mark.temporal, pytest.mark.own_dev_server]
ESCALATOR = str(Path(sys.executable).parent / "escalator")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def read_until(stream: asyncio.StreamReader, text: str) -> str:
    seen = ""
    async with asyncio.timeout(30):
        while text not in seen:
            line = await stream.readline()
            if not line:
                break
            seen += line.decode()
    return seen


def _scrape(port: int) -> str:
    body: bytes = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    return body.decode()


async def test_worker_process_records_serves_metrics_and_drains(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    task_queue = f"proc-{uuid.uuid4()}"
    port, sdk_port = free_port(), free_port()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "ESCALATOR_METRICS_PORT": str(port),
        "ESCALATOR_SDK_METRICS_PORT": str(sdk_port),
        "ESCALATOR_STATE_DIR": str(tmp_path),
    }
    proc = await asyncio.create_subprocess_exec(
        ESCALATOR, "worker", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        assert "escalator worker ready" in await read_until(proc.stdout, "ready")
        policy = make_policy(timedelta(seconds=1), response=(30, 30))
        raised = await raise_exception(
            dev_server.client, detection(subject()), policy=policy, task_queue=task_queue
        )
        handle = exception_handle(dev_server.client, raised.exception_id)
        for _ in range(200):
            status = await handle.query("status", result_type=ExceptionStatus)
            if has(StepKind.NOTIFIED)(status):
                break
            await asyncio.sleep(0.05)
        await handle.execute_update(
            "acknowledge", AcknowledgeInput(actor="alice"), result_type=UpdateResult
        )

        # Steps reach the SQL records store under the state dir.
        store = Store.open(f"sqlite:///{tmp_path / 'records.db'}", migrate=False)
        try:
            for _ in range(200):
                kinds = [r.kind for r in store.timeline(raised.exception_id)]
                if "acknowledged" in kinds:
                    break
                await asyncio.sleep(0.05)
            assert kinds[:3] == ["detected", "routed", "notified"] and "acknowledged" in kinds
            row = store.get_exception(raised.exception_id)
            assert row is not None and row.acknowledged_by == "alice"
        finally:
            store.close()

        # escalator's metrics, read from the records: the acknowledged exception is open
        # at level 1 and its page counted as a sent notification.
        body = await asyncio.to_thread(_scrape, port)
        assert (
            'escalator_open_exceptions{journey="orderToShip",level="1",state="acknowledged"} 1.0'
            in body
        )
        assert re.search(
            r'escalator_notifications_total\{channel="\w+",result="sent"\} [1-9]', body
        )

        # The SDK runtime's metrics, in Prometheus format, on their own port.
        sdk = await asyncio.to_thread(_scrape, sdk_port)
        assert "temporal_" in sdk and 'task_queue="' in sdk

        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
        rest = (await proc.stdout.read()).decode()
        assert code == 0 and "shutting down" in rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
