"""Detection on Temporal in tests: a dev server, a policy file, settings, workers with the
real detection activity, and triggering the journey's schedule and waiting for its run."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client, ScheduleActionExecutionStartWorkflow
from temporalio.worker import Worker
from watch_helpers import WATCH_POLICY

from escalator.activities.channels import CapturingSender
from escalator.detectors.watch_sources import watch_sources
from escalator.policies.loader import load_policies
from escalator.records.engine import make_engine, upgrade
from escalator.records.watch_states import WatchStateStore
from escalator.settings import Settings
from escalator.worker.detection_schedules import install_detections
from escalator.worker.main import Wiring, build_worker, detection_setup
from escalator.workflows.detection_contracts import DetectionResult, detection_schedule_id

JOURNEY = "orders"
RECORD = os.environ.get("ESCALATOR_RECORD_HISTORIES") == "1"
DETECTION_HISTORIES = Path(__file__).parent.parent / "histories" / "detection"
SCHEDULE = detection_schedule_id(JOURNEY)


def write_policy(root: Path) -> Path:
    folder = root / "policies"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.yaml").write_text(json.dumps(WATCH_POLICY))  # JSON is YAML
    return folder


def detect_settings(
    client: Client, tmp: Path, *, records: str, source: str, task_queue: str, **more: Any
) -> Settings:
    fields: dict[str, Any] = {
        "temporal_address": client.service_client.config.target_host,
        "temporal_namespace": client.namespace,
        "temporal_task_queue": task_queue,
        "policy_dir": write_policy(tmp),
        "state_dir": tmp / "state",
        "database_url": records,
        "detect_table": "events",
        "detect_source": source,
        # Never on its own while a test runs: the tests trigger the schedule.
        "detect_every": "1h",
    }
    fields.update(more)
    return Settings(**fields)


@dataclass
class Replica:
    """One worker replica: its own detection activity (and so its own cache)."""

    worker: Worker
    channel: CapturingSender
    engine: Any


async def replica(client: Client, settings: Settings, name: str) -> Replica:
    """A replica with a connection of its own, as another worker process has (the SDK also
    refuses two workers of one task queue on one client)."""
    own = await Client.connect(client.service_client.config.target_host, namespace=client.namespace)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    channel = CapturingSender()
    wiring = Wiring(
        senders={c: channel for c in ("slack", "slack_dm", "sms", "voice", "console")},
        fallback=channel,
        detection=detection_setup(settings, engine),
    )
    worker = build_worker(own, settings.temporal_task_queue, wiring, identity=name)
    return Replica(worker, channel, engine)


async def install(client: Client, settings: Settings) -> None:
    policies = load_policies([settings.policy_dir])
    await install_detections(
        client, watch_sources(settings, policies), settings.temporal_task_queue
    )


async def trigger(client: Client, history: str | None = None) -> tuple[DetectionResult, str]:
    """Trigger the journey's schedule once, wait for the run it started; its result and the
    identity of the worker whose activity did the detection. The run's history is kept as
    ``history`` for test_detection_replay.py under ESCALATOR_RECORD_HISTORIES=1."""
    handle = client.get_schedule_handle(SCHEDULE)
    before = (await handle.describe()).info.num_actions
    await handle.trigger()
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        info = (await handle.describe()).info
        if info.num_actions > before:  # recent_actions keeps only the last ten
            break
        assert asyncio.get_running_loop().time() < deadline, "the trigger started no run"
        await asyncio.sleep(0.05)
    action = info.recent_actions[-1].action
    assert isinstance(action, ScheduleActionExecutionStartWorkflow)
    run = client.get_workflow_handle(
        action.workflow_id, run_id=action.first_execution_run_id, result_type=DetectionResult
    )
    result = await run.result()
    if history and RECORD:
        DETECTION_HISTORIES.mkdir(parents=True, exist_ok=True)
        (DETECTION_HISTORIES / f"{history}.json").write_text((await run.fetch_history()).to_json())
    return result, await activity_worker(client, action.workflow_id, action.first_execution_run_id)


async def activity_worker(client: Client, workflow_id: str, run_id: str) -> str:
    """The identity of the worker that ran the run's (last) detection activity."""
    who = ""
    async for event in client.get_workflow_handle(
        workflow_id, run_id=run_id
    ).fetch_history_events():
        if event.HasField("activity_task_started_event_attributes"):
            who = event.activity_task_started_event_attributes.identity
    return who


def kept_state(settings: Settings) -> Any:
    engine = make_engine(settings.resolved_database_url)
    try:
        return WatchStateStore(engine).load(f"{JOURNEY}:events")
    finally:
        engine.dispose()


async def delete_schedule(client: Client) -> None:
    from temporalio.service import RPCError, RPCStatusCode

    try:
        await client.get_schedule_handle(SCHEDULE).delete()
    except RPCError as err:
        assert err.status == RPCStatusCode.NOT_FOUND, err
