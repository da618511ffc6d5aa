"""Probe: what one durable step costs on the dev server, with no worker and no receiver.

    .venv/bin/python bench/probe_starts.py [--n 300] [--concurrency 20] [--rounds 2] [--memory]

The alert burst (bench_alerts.py) answers each POST once Temporal holds its alert, so the
answer time is the sender's concurrency over the server's rate of these steps (Little's
law). This measures that rate for each way of handing Temporal an alert, on the
file-backed dev server (``--memory``: without ``--db-filename``), ``--n`` steps per way,
``--concurrency`` at once:

- ``raise_exception``: what the receiver does per alert (signal-with-start of the
  EscalationWorkflow, input and signal carrying the policy snapshot, 9 search attributes,
  static summary and details);
- the same start without the search attributes, without the static summary/details, with
  the signal carrying only the detection, or all three;
- ``signal one running workflow``: a signal to a workflow that already runs (one history
  event, no new execution, no visibility row).

Nothing polls the task queue, so the figures are the server's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_alerts import pct, start_server, uptime  # noqa: E402
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
        "signal one running workflow": signal_running,
    }


async def measure(step: Callable[[], Awaitable[object]], n: int, concurrency: int) -> str:
    gate = asyncio.Semaphore(concurrency)
    took: list[float] = []

    async def one() -> None:
        async with gate:
            t0 = time.perf_counter()
            await step()
            took.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    rate = n / (time.perf_counter() - t0)
    return f"{rate:.0f} | {statistics.median(took) * 1e3:.0f} ms | {pct(took, 0.99) * 1e3:.0f} ms"


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
            f"{' '.join(args.pragma)}, "
            f"n={args.n}, concurrency {args.concurrency}\n\n`uptime` before: {uptime()}\n"
        )
        print("| round | step | per second | p50 | p99 |\n|---|---|---|---|---|")
        # Round after round, so a slow moment of the machine (or of SQLite) is not
        # charged to one way only.
        for round_ in range(1, args.rounds + 1):
            for name, step in ways(client, queue, running).items():
                figures = await measure(step, args.n, args.concurrency)
                print(f"| {round_} | {name} | {figures} |", flush=True)
        print(f"\n`uptime` after: {uptime()}")
    finally:
        server.terminate()
        server.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--pragma", action="append", default=[], help="--sqlite-pragma for the dev server"
    )
    parser.add_argument("--memory", action="store_true", help="dev server without --db-filename")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
