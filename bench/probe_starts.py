"""Probe: what one durable step costs on the dev server, with no worker and no receiver.

    .venv/bin/python bench/probe_starts.py [--n 300] [--concurrency 20] [--rounds 2] [--memory]
        [--pragma journal_mode=wal ...] [--way bare ...] [--worker-share N]

The alert burst (bench_alerts.py) answers each POST once Temporal holds its alert, so the
answer time is the sender's concurrency over the server's rate of these steps (Little's
law). This measures that rate for each way of handing Temporal an alert, on the
file-backed dev server with the pragmas of ``escalator up`` (``--memory``: without
``--db-filename``), ``--n`` steps per way,
``--concurrency`` at once:

- ``raise_exception``: what the receiver does per alert (signal-with-start of the
  EscalationWorkflow, input and signal carrying the policy snapshot, 9 search attributes,
  static summary and details);
- the same start without the search attributes, without the static summary/details, with
  the signal carrying only the detection, or all three;
- ``bare start``: a plain start of the workflow with its input and nothing else (no
  signal, no search attributes, no summary): the least a new exception can cost, so its
  answer times at ``--concurrency`` are the floor under any receiver on this server;
- ``signal one running workflow``: a signal to a workflow that already runs (one history
  event, no new execution, no visibility row).

Nothing polls the task queue, so the figures are the server's alone. The last column is
the dev server's CPU per step and the cores it used meanwhile (`/proc`): it stays near one
core whatever the way, which is why its rate has a ceiling on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_alerts import cpu_seconds, pct, process_env, rss_mb, start_server, uptime  # noqa: E402
from bench_escalation import connect, free_port  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402

from escalator.client import (  # noqa: E402
    DETECTION_SIGNAL,
    _search_attributes,
    raise_exception,
    static_details,
    static_summary,
)
from escalator.policies.snapshot import snapshot  # noqa: E402
from escalator.policy_source import load_configured_policies  # noqa: E402
from escalator.stack.up import DEV_SERVER_PRAGMAS  # noqa: E402
from escalator.workflows.activity_contracts import ReportDetection  # noqa: E402
from escalator.workflows.contracts import (  # noqa: E402
    ESCALATION_WORKFLOW,
    Detection,
    EscalationInput,
)

JOURNEY, RULE = "orderToShip", "awaiting_inventory"


def detection() -> Detection:
    subject = uuid.uuid4().hex[:16]
    return Detection(
        journey=JOURNEY,
        rule=RULE,
        subject=subject,
        onset=datetime.now(UTC),
        detected_at=datetime.now(UTC),
        attributes={"alertname": "StockStuck", "fingerprint": subject},
        payload={"alert": {"labels": {"alertname": "StockStuck"}}},
    )


def ways(client: Client, queue: str, running: str) -> dict[str, Callable[[], Awaitable[object]]]:
    policy = snapshot(load_configured_policies(), RULE, datetime.now(UTC))

    def start(
        *, attributes: bool, static: bool, full_signal: bool
    ) -> Callable[[], Awaitable[object]]:
        async def one() -> object:
            inp = EscalationInput(detection=detection(), policy=policy)
            # Only the size matters here (nothing runs the workflow): the detection alone.
            report = ReportDetection(start=inp) if full_signal else inp.detection
            return await client.start_workflow(
                ESCALATION_WORKFLOW,
                inp,
                id=inp.detection.workflow_id,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                task_queue=queue,
                start_signal=DETECTION_SIGNAL,
                start_signal_args=[report],
                search_attributes=_search_attributes(inp) if attributes else None,
                static_summary=static_summary(inp) if static else None,
                static_details=static_details(inp) if static else None,
            )

        return one

    async def raised() -> object:
        return await raise_exception(
            client, detection(), policy=policy, task_queue=queue, outcome_within=timedelta(0)
        )

    async def bare() -> object:
        inp = EscalationInput(detection=detection(), policy=policy)
        return await client.start_workflow(
            ESCALATION_WORKFLOW, inp, id=inp.detection.workflow_id, task_queue=queue
        )

    async def signal_running() -> object:
        inp = EscalationInput(detection=detection(), policy=policy)
        handle = client.get_workflow_handle(running)
        await handle.signal(DETECTION_SIGNAL, ReportDetection(start=inp))
        return None

    return {
        "raise_exception (as the receiver)": raised,
        "  without search attributes": start(attributes=False, static=True, full_signal=True),
        "  without static summary/details": start(attributes=True, static=False, full_signal=True),
        "  signal without the input again": start(attributes=True, static=True, full_signal=False),
        "  none of the three": start(attributes=False, static=False, full_signal=False),
        "bare start (the floor)": bare,
        "signal one running workflow": signal_running,
    }


async def measure(
    step: Callable[[], Awaitable[object]], n: int, concurrency: int, server_pid: int
) -> str:
    gate = asyncio.Semaphore(concurrency)
    took: list[float] = []

    async def one() -> None:
        async with gate:
            t0 = time.perf_counter()
            await step()
            took.append(time.perf_counter() - t0)

    cpu0, t0 = cpu_seconds(server_pid), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    wall, cpu = time.perf_counter() - t0, cpu_seconds(server_pid) - cpu0
    return (
        f"{n / wall:.0f} | {statistics.median(took) * 1e3:.0f} ms | "
        f"{pct(took, 0.99) * 1e3:.0f} ms | {cpu * 1e3 / n:.1f} ms ({cpu / wall:.2f})"
    )


async def run(args: argparse.Namespace) -> None:
    state = Path(tempfile.mkdtemp(prefix="escalator-probe-"))
    port = free_port()
    server = start_server(None if args.memory else state / "temporal.db", port, args.pragma)
    try:
        client = await connect(port)
        queue = f"probe-{uuid.uuid4().hex[:6]}"
        running = f"probe-running-{uuid.uuid4().hex[:6]}"
        # The workflow the signals go to; nothing runs it, so it stays open.
        await client.start_workflow(ESCALATION_WORKFLOW, "{}", id=running, task_queue=queue)
        print(
            f"## durable steps, {'in memory' if args.memory else '--db-filename'} "
            f"{' '.join(args.pragma) or 'SQLite defaults'}, "
            f"n={args.n}, concurrency {args.concurrency}\n\n`uptime` before: {uptime()}\n"
        )
        print(
            "| round | step | per second | p50 | p99 | server CPU a step (cores) |\n"
            "|---|---|---|---|---|---|"
        )
        # Round after round, so a slow moment of the machine (or of SQLite) is not
        # charged to one way only.
        for round_ in range(1, args.rounds + 1):
            for name, step in ways(client, queue, running).items():
                if args.way and not any(w in name for w in args.way):
                    continue
                figures = await measure(step, args.n, args.concurrency, server.pid)
                print(f"| {round_} | {name} | {figures} |", flush=True)
        if args.worker_share:
            await worker_share(client, port, server.pid, state, args)
        print(f"\n`uptime` after: {uptime()}")
    finally:
        server.terminate()
        server.wait(timeout=15)


async def worker_share(
    client: Client, port: int, server_pid: int, state: Path, args: argparse.Namespace
) -> None:
    """What the server spends on a new exception after its start: ``--worker-share`` exceptions
    raised with nobody polling, then a worker as the alert bench wires it runs them up to
    their first timer; the server's CPU from the worker's start until it is idle again (three
    seconds under 50 ms of CPU each), per exception. A burst's answers share the server with
    this work."""
    n, queue = args.worker_share, f"probe-share-{uuid.uuid4().hex[:6]}"
    policy = snapshot(load_configured_policies(), RULE, datetime.now(UTC))
    gate = asyncio.Semaphore(args.concurrency)

    async def raise_one() -> None:
        async with gate:
            await raise_exception(
                client, detection(), policy=policy, task_queue=queue, outcome_within=timedelta(0)
            )

    await asyncio.gather(*(raise_one() for _ in range(n)))
    env = process_env(port, queue, state)
    log = (state / "worker.log").open("wb")
    worker = subprocess.Popen(  # noqa: ASYNC220 (started once, before measuring)
        [sys.executable, "-m", "bench.storm_worker"], env=env, stdout=log, stderr=log, cwd=ROOT
    )
    try:
        cpu0, t0 = cpu_seconds(server_pid), time.perf_counter()
        last, idle = cpu0, 0
        while idle < 3:
            await asyncio.sleep(1)
            now = cpu_seconds(server_pid)
            idle = idle + 1 if now - last < 0.05 and time.perf_counter() - t0 > 10 else 0
            last = now
        server_cpu, worker_cpu = last - cpu0, cpu_seconds(worker.pid)
        print(
            f"\nthe worker ran {n} new exceptions to their first timer in "
            f"{time.perf_counter() - t0 - 3:.0f} s: the server's CPU {server_cpu * 1e3 / n:.1f} ms "
            f"an exception (the worker's own {worker_cpu * 1e3 / n:.1f} ms, start-up included); "
            f"worker RSS then {rss_mb(worker.pid):.0f} MB"
        )
    finally:
        worker.terminate()
        worker.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--pragma",
        action="append",
        help="--sqlite-pragma for the dev server, repeatable (default: those of `escalator "
        f"up`: {' '.join(DEV_SERVER_PRAGMAS)}); --pragma '' for SQLite's defaults",
    )
    parser.add_argument("--memory", action="store_true", help="dev server without --db-filename")
    parser.add_argument(
        "--way",
        action="append",
        default=[],
        help="only the ways whose name contains this (repeatable): each way's starts stay "
        "unpolled in the server and slow the ways after them",
    )
    parser.add_argument(
        "--worker-share",
        type=int,
        default=0,
        metavar="N",
        help="then raise N exceptions and measure the server's CPU while a worker runs them",
    )
    args = parser.parse_args()
    args.pragma = [p for p in (args.pragma or DEV_SERVER_PRAGMAS) if p]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
