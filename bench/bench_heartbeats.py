"""Benchmark: worker memory with many heartbeat monitors (one HeartbeatWorkflow each).

    .venv/bin/python bench/bench_heartbeats.py [--monitors 10000] [--concurrency 40]

On the file-backed dev server (`temporal server start-dev --db-filename`): an `escalator
worker` process (SQLite records, console channel) runs the monitors; the benchmark
starts ``--monitors`` of them (every 1 h, so none is missed while it runs), then beats
each once (the signal a `POST /heartbeats/NAME` sends). Worker and server RSS are
printed at every tenth, after the worker's RSS with no monitor (the baseline in the
same run). Goal: worker ≤ 300 MB at 10,000 monitors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "workflows"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_escalation import connect, free_port, rss_mb, start_dev_server  # noqa: E402
from policy_factory import make_policy  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.service import RPCError  # noqa: E402

from escalator.workflows.heartbeat_contracts import (  # noqa: E402
    BEAT_SIGNAL,
    HEARTBEAT_WORKFLOW,
    Beat,
    HeartbeatInput,
    heartbeat_workflow_id,
)


async def _retry(call: object, attempts: int = 5) -> None:
    for attempt in range(attempts):
        try:
            await call()  # type: ignore[operator]
            return
        except RPCError:  # a loaded dev server times out now and then: the call is idempotent
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)


async def run(port: int, server_pid: int, total: int, concurrency: int) -> None:
    state = Path(tempfile.mkdtemp(prefix="escalator-bench-"))
    queue = f"bench-beats-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "TEMPORAL_TASK_QUEUE": queue}
    env["ESCALATOR_STATE_DIR"] = str(state)
    worker = subprocess.Popen(  # noqa: ASYNC220 (started once, before measuring)
        [str(Path(sys.executable).parent / "escalator"), "worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client: Client = await connect(port)
    policy = make_policy(timedelta(hours=1), response=(60, 60))
    sem = asyncio.Semaphore(concurrency)
    names = [f"hb-{queue}-{i}" for i in range(total)]

    async def start(name: str) -> None:
        inp = HeartbeatInput(name=name, every=timedelta(hours=1), policy=policy)
        async with sem:
            await _retry(
                lambda: client.start_workflow(
                    HEARTBEAT_WORKFLOW, inp, id=heartbeat_workflow_id(name), task_queue=queue
                )
            )

    async def beat(name: str) -> None:
        handle = client.get_workflow_handle(heartbeat_workflow_id(name))
        async with sem:
            await _retry(lambda: handle.signal(BEAT_SIGNAL, Beat(source="bench")))

    cache = os.environ.get("ESCALATOR_WORKER_CACHE", "400 (default)")
    print(f"\nheartbeat monitors (worker pid {worker.pid}, cache {cache}, records in {state})")
    await asyncio.sleep(8)  # the worker connects and settles: its RSS with no monitor
    print("| monitors | beats | elapsed s | worker RSS MB | server RSS MB |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| 0 | 0 | 0 | {rss_mb(worker.pid):.0f} | {rss_mb(server_pid):.0f} |", flush=True)
    t0 = time.perf_counter()
    step = max(total // 10, 1)
    try:
        for phase, work in (("start", start), ("beat", beat)):
            for lo in range(0, total, step):
                await asyncio.gather(*(work(n) for n in names[lo : lo + step]))
                await asyncio.sleep(2)  # let the worker run the workflow tasks
                hi = min(lo + step, total)
                started, beaten = (hi, 0) if phase == "start" else (total, hi)
                print(
                    f"| {started} | {beaten} | {time.perf_counter() - t0:.0f} "
                    f"| {rss_mb(worker.pid):.0f} | {rss_mb(server_pid):.0f} |",
                    flush=True,
                )
    finally:
        worker.terminate()
        worker.wait(30)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=40)
    args = parser.parse_args()
    db = Path(tempfile.mkdtemp(prefix="escalator-bench-")) / "temporal.db"
    port = free_port()
    server = start_dev_server(db, port)
    try:
        await connect(port)
        print(
            f"escalator heartbeat bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, dev server --db-filename {db}"
        )
        await run(port, server.pid, args.monitors, args.concurrency)
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    asyncio.run(main())
