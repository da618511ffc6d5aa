"""Benchmark: storm control with thousands of real members on the dev server.

    .venv/bin/python -m bench.bench_storm [--members 5000] [--response 600]

What the storm test (tests/storm/test_storm_load.py, 490 members) cannot show on the
time-skipping server: Temporal's per-run limits (2,000 updates per run, 2,000 pending
signals, 10 updates in flight per workflow) and real time. Here, as production runs:

- the file-backed dev server (`temporal server start-dev --db-filename`) and a worker
  process wired as `escalator worker` (SQLite records, console channel, routing `page`),
  workflows unsandboxed unless ``--sandboxed`` (bench/storm_worker.py says why);
- ``--members`` detections of one rule, each its own subject, raised with
  `raise_exception` (``--concurrency`` at a time): exactly ``threshold`` (10) exceptions
  page alone, every other one joins the storm, none falls back to a page;
- nobody acknowledges within level 1's ``--response`` seconds: the storm escalates, and
  every open member records the escalation in its own timeline (signals, 500 at a time);
- then "acknowledge all" (`escalator/receiver/storm_responses.py`, as the Slack button): the storm
  and every member are acknowledged;
- no workflow failed, and the storm and one member replay in the sandbox.

It prints the figures (wall time per phase, registrations/s, storm runs, worker and
server RSS) as Markdown and exits 1 when a check failed. ``--response`` must outlast
raising every member: the figures say when the escalation came too early.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.worker import Replayer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "workflows"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_escalation import connect, free_port, rss_mb, start_dev_server  # noqa: E402
from policy_factory import make_policy  # noqa: E402

from escalator.client import raise_exception  # noqa: E402
from escalator.policies.snapshot import ExceptionPolicy  # noqa: E402
from escalator.policies.storm import StormControl  # noqa: E402
from escalator.receiver.storm_responses import StormResponder  # noqa: E402
from escalator.workflows.contracts import Detection  # noqa: E402
from escalator.workflows.escalation import EscalationWorkflow  # noqa: E402
from escalator.workflows.storm import StormWorkflow  # noqa: E402
from escalator.workflows.storm_contracts import StormState, storm_id  # noqa: E402

JOURNEY, RULE, ROLE = "orderToShip", "awaiting_inventory", "inventory"
THRESHOLD = 10
SID = storm_id(JOURNEY, RULE, ROLE)


def bench_policy(response: int) -> ExceptionPolicy:
    """Units of a second: level 1 (inventory, Slack) answers within ``response``; level 2
    (billing-leads) within an hour, so the run ends before it could escalate again."""
    base = make_policy(
        timedelta(seconds=1),
        response=(response, 3600),
        time_to_restore=None,
        ack_timeout=None,
        reopen_window=60,
    )
    levels = list(base.escalation.levels)
    levels[0] = levels[0].model_copy(update={"channels": ["slack"]})
    control = StormControl(
        threshold=THRESHOLD,
        window=timedelta(minutes=30),
        hold_down=None,
        update_every=timedelta(seconds=5),
    )
    escalation = base.escalation.model_copy(update={"levels": levels, "storm": control})
    return base.model_copy(update={"escalation": escalation})


ONSET = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def detection(n: int) -> Detection:
    """The same detection on every call: a retried raise counts once, not as occurred again."""
    return Detection(
        journey=JOURNEY,
        rule=RULE,
        subject=f"order-{n:05d}",
        onset=ONSET,
        payload={"warehouse": "ams-1"},
    )


class Records:
    """The worker's records, read while it writes them."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def _rows(self, sql: str, **params: object) -> list[sa.Row[*tuple[Any, ...]]]:
        try:
            with self.engine.connect() as db:
                return list(db.execute(sa.text(sql), params))
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            return []  # the worker has not created the tables yet

    def steps(self, kind: str, *, storm: bool = False) -> set[str]:
        sql = "SELECT exception_id, detail FROM timeline_steps WHERE kind = :kind"
        found = set()
        for xid, detail in self._rows(sql, kind=kind):
            detail = json.loads(detail) if isinstance(detail, str) else detail
            if str(xid).startswith("exc:") and (not storm or detail.get("storm_id") == SID):
                found.add(str(xid))
        return found

    def storm_notifications(self) -> int:
        sql = "SELECT COUNT(*) FROM notifications WHERE exception_id = :sid"
        return int(self._rows(sql, sid=SID)[0][0])


class Peaks:
    """Peak RSS of the worker and the server, sampled every second."""

    def __init__(self, worker: int, server: int) -> None:
        self.pids, self.peak = {"worker": worker, "server": server}, {"worker": 0.0, "server": 0.0}

    async def sample(self) -> None:
        while True:
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss_mb(pid))
            await asyncio.sleep(1)


async def until(check, what: str, within: float) -> float:
    """Wait for ``check()`` (sync or async) to hold; the seconds it took."""
    t0 = time.monotonic()
    while True:
        ok = check()
        if asyncio.iscoroutine(ok):
            try:
                ok = await ok
            except RPCError as err:  # a query the busy worker did not answer in time
                print(f"  (waiting for {what}: {err})", flush=True)
                ok = False
        if ok:
            return time.monotonic() - t0
        if time.monotonic() - t0 > within:
            raise AssertionError(f"not reached within {within:.0f} s: {what}")
        await asyncio.sleep(2)


async def storm_state(client: Client) -> StormState:
    return await client.get_workflow_handle(SID).query("state", result_type=StormState)


async def raise_all(client: Client, queue: str, policy: ExceptionPolicy, args) -> list[str]:
    gate = asyncio.Semaphore(args.concurrency)

    async def one(n: int) -> str:
        async with gate:
            # raise_exception is idempotent (dedupe key): a call the loaded server did not
            # answer in time is simply made again; it never opens a second exception.
            for attempt in range(10):
                try:
                    raised = await raise_exception(
                        client, detection(n), policy=policy, task_queue=queue
                    )
                    # A retry after a call that did get through answers "duplicate".
                    retried = attempt > 0 and raised.outcome == "duplicate"
                    return "new" if retried else raised.outcome
                except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as err:
                    timed_out = isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError)
                    if attempt == 9 or not (timed_out or "deadline" in str(err)):
                        raise
            raise AssertionError("unreachable")

    return list(await asyncio.gather(*(one(n) for n in range(args.members))))


async def run(args: argparse.Namespace) -> list[str]:
    """The storm, start to end; returns the failed checks."""
    state_dir = Path(tempfile.mkdtemp(prefix="escalator-storm-"))
    port, queue = free_port(), f"bench-storm-{uuid.uuid4().hex[:6]}"
    server = start_dev_server(state_dir / "temporal.db", port)
    env = {**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "TEMPORAL_TASK_QUEUE": queue}
    env.update(ESCALATOR_STATE_DIR=str(state_dir), ESCALATOR_ROUTING="page")
    env.update(ESCALATOR_DIGEST_INSTALL="false")
    records_url = args.records or f"sqlite:///{state_dir / 'records.db'}"
    env["ESCALATOR_DATABASE_URL"] = records_url
    log = (state_dir / "worker.log").open("wb")
    command = [str(Path(sys.executable).parent / "escalator"), "worker"]
    if not args.sandboxed:
        command = [sys.executable, "-m", "bench.storm_worker"]
    worker = subprocess.Popen(  # noqa: ASYNC220 (started once, before measuring)
        command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    peaks = Peaks(worker.pid, server.pid)
    sampler = asyncio.create_task(peaks.sample())
    records, failed, grouped = Records(records_url), [], args.members - THRESHOLD
    figures: dict[str, str] = {}

    def check(ok: bool, what: str) -> None:
        print(f"- [{'x' if ok else ' '}] {what}", flush=True)
        if not ok:
            failed.append(what)

    try:
        client = await connect(port)
        print(f"storm bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, ")
        print(f"worker {' '.join(command[-2:])}, load before: {os.getloadavg()}; ")
        print(f"state in {state_dir}", flush=True)
        t0 = time.monotonic()
        outcomes = await raise_all(client, queue, bench_policy(args.response), args)
        raised = time.monotonic() - t0
        check(outcomes.count("new") == args.members, f"{args.members} new exceptions")
        figures["raise"] = f"{raised:.0f} s ({args.members / raised:.1f}/s)"

        progress = [time.monotonic()]

        async def registered() -> bool:
            st = await storm_state(client)
            if time.monotonic() - progress[0] > 60:
                progress[0] = time.monotonic()
                joined = len(st.members) + len(st.paged)
                print(f"  {progress[0] - t0:.0f} s: {joined} registered", flush=True)
            return len(st.members) + len(st.paged) >= args.members

        await until(registered, "every member registered", args.response * 3)
        reg = time.monotonic() - t0
        figures["registered"] = f"{reg:.0f} s after the first raise ({args.members / reg:.1f}/s)"
        await until(lambda: len(records.steps("grouped")) >= grouped, "grouped steps", 600)
        st = await storm_state(client)
        paged, members = records.steps("notified"), records.steps("grouped")
        check(len(st.paged) == THRESHOLD, f"storm counted {THRESHOLD} individual pages")
        check(len(paged) == THRESHOLD, f"{len(paged)} exceptions paged alone ({THRESHOLD})")
        check(len(members) == grouped, f"{len(members)} grouped ({grouped}), none fell back")
        check(not (paged & members), "no grouped exception paged alone")
        check(not st.escalations, "every member joined before the storm escalated")

        async def escalated() -> bool:
            return bool((await storm_state(client)).escalations)

        escalation = await until(escalated, "the storm escalated", args.response + 600)
        t_esc = time.monotonic()
        await until(
            lambda: len(records.steps("escalated", storm=True)) >= grouped,
            "every member recorded the escalation",
            900,
        )
        fan = time.monotonic() - t_esc
        told = records.steps("escalated", storm=True)
        check(told == members, f"{len(told)} members recorded the storm's escalation")
        figures["escalation"] = f"{fan:.0f} s from the storm's escalation to the last member"

        t_ack = time.monotonic()
        outcome = await StormResponder(client).acknowledge_all(SID, "alice", "cli")
        print(f"  acknowledge all: {outcome.message}", flush=True)
        await until(lambda: len(records.steps("acknowledged")) >= grouped, "acks", 900)
        acked = records.steps("acknowledged")
        check(acked == members, f"{len(acked)} members acknowledged by acknowledge-all")
        figures["acknowledge all"] = f"{time.monotonic() - t_ack:.0f} s for {grouped} members"
        st = await storm_state(client)
        check(st.acknowledged_by == "alice", "the storm acknowledged")

        runs = [r async for r in client.list_workflows(f"WorkflowId = '{SID}'")]
        figures["storm runs"] = f"{len(runs)} ({len(runs) - 1} continue-as-new)"
        bad = await client.count_workflows(
            "ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut' "
            "OR ExecutionStatus = 'Terminated'"
        )
        check(bad.count == 0, f"{bad.count} workflows failed, timed out or terminated")
        figures["storm messages"] = f"{records.storm_notifications()} (sends and in-place updates)"
        failed += await replay(client, sorted(members)[0])
        figures["wall time"] = (
            f"{time.monotonic() - t0:.0f} s (escalation waited {escalation:.0f} s)"
        )
    finally:
        sampler.cancel()
        figures["worker RSS peak"] = f"{peaks.peak['worker']:.0f} MB"
        figures["server RSS peak"] = f"{peaks.peak['server']:.0f} MB"
        worker.terminate()
        worker.wait(60)
        server.terminate()
        server.wait(60)
        log.close()
        lines = (state_dir / "worker.log").read_text(errors="replace").splitlines()
        figures["worker log"] = (
            f"{sum('Traceback' in x for x in lines)} tracebacks, "
            f"{sum('Failed activation' in x or 'Failing workflow task' in x for x in lines)} "
            "failed workflow tasks"
        )
        print(f"\n| {args.members} members, load after {os.getloadavg()} | |\n|---|---|")
        for k, v in figures.items():
            print(f"| {k} | {v} |")
    return failed


async def replay(client: Client, member: str) -> list[str]:
    """The sandbox's verdict on the storm's last run and one member."""
    replayer = Replayer(
        workflows=[EscalationWorkflow, StormWorkflow], data_converter=pydantic_data_converter
    )
    failed = []
    for wid in (SID, member):
        history = await client.get_workflow_handle(wid).fetch_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failed.append(f"{wid} does not replay: {result.replay_failure}")
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=5000, help="exceptions of one rule")
    parser.add_argument("--concurrency", type=int, default=50, help="raises in flight")
    parser.add_argument("--response", type=int, default=600, help="level-1 response time, seconds")
    parser.add_argument(
        "--records",
        help="records database URL (an empty PostgreSQL database, say); default: SQLite "
        "in the state dir, which a loaded disk makes the bottleneck (docs/storm.md)",
    )
    parser.add_argument(
        "--sandboxed", action="store_true", help="the real `escalator worker` (slower)"
    )
    failed = asyncio.run(run(parser.parse_args()))
    print("\nFAILED: " + "; ".join(failed) if failed else "\nall checks passed", flush=True)
    os._exit(1 if failed else 0)  # skip interpreter teardown: the SDK can abort (sdk-python#300)


if __name__ == "__main__":
    main()
