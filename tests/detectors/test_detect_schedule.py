"""Detection on Temporal: the journey's schedule runs the detection activity on the workers,
with the watch state in the records (SQLite and PostgreSQL).

Rows inserted into a SQL table raise an EscalationWorkflow and rows that clear the condition
clear it; two replicas never raise one exception twice; a replica started after another
(a worker restart) resumes from the records watermark; worker start installs the schedule
idempotently and says what is wrong with an unusable setting. Schedules need the dev server (the
time-skipping server has none), so this module starts its own; the tests trigger the
schedule (`handle.trigger()`) instead of waiting for its interval.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from detect_schedule_helpers import (
    SCHEDULE,
    delete_schedule,
    detect_settings,
    install,
    kept_state,
    replica,
    trigger,
)
from fakes.channel_stack import eventually
from temporal_servers import dev_server_fixture
from temporalio.client import Client, ScheduleOverlapPolicy, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from watch_helpers import create_table, insert

from escalator.client import exception_handle, with_pydantic
from escalator.settings import Settings
from escalator.worker.main import Wiring, build_worker, run_worker
from escalator.workflows.contracts import ExceptionState, ExceptionStatus
from escalator.workflows.detection_contracts import (
    DETECTION_WORKFLOW,
    DetectionRequest,
    DetectionResult,
)

pytestmark = [pytest.mark.temporal, pytest.mark.own_dev_server]


dev_server = pytest.fixture(dev_server_fixture, scope="module", name="dev_server")


@pytest.fixture
async def client(dev_server: WorkflowEnvironment) -> AsyncIterator[Client]:
    made = with_pydantic(dev_server.client)
    yield made
    await delete_schedule(made)  # one namespace per module: the schedule id is the journey's


async def _status(client: Client, key: str) -> ExceptionStatus:
    return await exception_handle(client, key).query("status", result_type=ExceptionStatus)


async def _eventually_state(client: Client, key: str, state: ExceptionState) -> None:
    deadline = asyncio.get_running_loop().time() + 15
    while (await _status(client, key)).state is not state:
        assert asyncio.get_running_loop().time() < deadline, f"{key} never became {state}"
        await asyncio.sleep(0.1)


def _cases(*names: str) -> list[str]:
    """Case ids of this test only: both records databases' runs share one namespace."""
    tag = uuid.uuid4().hex[:6]
    return [f"{name}-{tag}" for name in names]


def _key(case: str) -> str:
    return f"exc:orders:stuck:{case}"


def _ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(microsecond=0).isoformat()


async def test_schedule_raises_from_table_rows_and_clears_them(
    client: Client, tmp_path: Path, db_url: str
) -> None:
    source = f"sqlite:///{tmp_path / 'events.db'}"
    events = create_table(source, "events")
    [a] = _cases("A")
    insert(events, "events", (a, "created", _ago(3)), (a, "waiting", _ago(2)))
    task_queue = f"tq-{uuid.uuid4()}"
    settings = detect_settings(
        client, tmp_path, records=db_url, source=source, task_queue=task_queue
    )
    await install(client, settings)
    one = await replica(client, settings, "replica-1")
    async with one.worker:
        result, _ = await trigger(client, history="raised")
        assert result.raised == [_key(a)] and result.rows == 2
        status = await _status(client, _key(a))
        assert status.state is ExceptionState.OPEN and status.subject == a

        # Nothing new: the next run raises nothing again.
        result, _ = await trigger(client)
        assert (result.rows, result.raised, result.cleared) == (0, [], [])

        # The case leaves the state: the run clears it and the exception auto-resolves.
        insert(events, "events", (a, "allocated", _ago(0)))
        result, _ = await trigger(client, history="cleared")
        assert result.cleared == [_key(a)] and result.rows == 1
        await _eventually_state(client, _key(a), ExceptionState.RESOLVED)
        assert (await _status(client, _key(a))).occurrences == 1
    kept = kept_state(settings)
    assert kept is not None and kept.watermark is not None and kept.watermark.id == 3
    assert kept.open == {} and any(r.startswith(f"{_key(a)}@") for r in kept.raised)
    one.engine.dispose()
    events.dispose()


async def test_two_replicas_never_raise_twice(client: Client, tmp_path: Path, db_url: str) -> None:
    source = f"sqlite:///{tmp_path / 'events.db'}"
    events = create_table(source, "events")
    [prefix, last] = _cases("C", "LAST")
    task_queue = f"tq-{uuid.uuid4()}"
    settings = detect_settings(
        client, tmp_path, records=db_url, source=source, task_queue=task_queue
    )
    await install(client, settings)
    replicas = [await replica(client, settings, f"replica-{i}") for i in (1, 2)]
    raised: list[str] = []
    ran_on: list[str] = []
    async with replicas[0].worker, replicas[1].worker:
        # New stuck cases between runs, until both replicas have run the detection. A
        # replica that ran the previous detection too reads only the new row; the other
        # reads the table from the start, as the watermark it read to is not the kept one.
        for n in range(16):
            insert(events, "events", (f"{prefix}{n}", "waiting", _ago(2)))
            result, who = await trigger(client)
            assert result.rows == (1 if ran_on and ran_on[-1] == who else n + 1), (n, who)
            raised += result.raised
            ran_on.append(who)
            if n >= 3 and len(set(ran_on)) == 2:
                break
        assert set(ran_on) == {"replica-1", "replica-2"}, ran_on
        # Runs that overlap (started directly, beside the schedule): the lease lets one
        # poll; the others find it held and skip, or find nothing new.
        insert(events, "events", (last, "waiting", _ago(2)))
        runs = [
            client.execute_workflow(
                DETECTION_WORKFLOW,
                DetectionRequest(journey="orders"),
                id=f"detect-now-{uuid.uuid4()}",
                task_queue=task_queue,
                result_type=DetectionResult,
            )
            for _ in range(4)
        ]
        for result in await asyncio.gather(*runs):
            raised += result.raised
        cases = [f"{prefix}{i}" for i in range(n + 1)] + [last]
        assert sorted(raised) == sorted(_key(c) for c in cases)
        for case in cases:
            assert (await _status(client, _key(case))).occurrences == 1
    for r in replicas:
        r.engine.dispose()
    events.dispose()


async def test_restarted_worker_resumes_from_the_records_watermark(
    client: Client, tmp_path: Path, db_url: str
) -> None:
    source = f"sqlite:///{tmp_path / 'events.db'}"
    events = create_table(source, "events")
    a, b, c = _cases("A", "B", "C")
    insert(events, "events", (a, "waiting", _ago(3)), (b, "created", _ago(3)))
    task_queue = f"tq-{uuid.uuid4()}"
    settings = detect_settings(
        client, tmp_path, records=db_url, source=source, task_queue=task_queue
    )
    await install(client, settings)
    first = await replica(client, settings, "before-restart")
    async with first.worker:
        result, _ = await trigger(client)
        assert result.raised == [_key(a)]
    first.engine.dispose()

    # While no worker runs: A leaves the state, B gets stuck.
    insert(events, "events", (a, "allocated", _ago(0.5)), (b, "waiting", _ago(2)))
    after = await replica(client, settings, "after-restart")
    async with after.worker:
        result, _ = await trigger(client)
        # A fresh replica reads the whole table (4 rows), and the records decide what is new.
        assert result.rows == 4
        assert result.raised == [_key(b)]
        assert result.cleared == [_key(a)]
        await _eventually_state(client, _key(a), ExceptionState.RESOLVED)
        # The same replica again: its events in memory reach the kept watermark, so it
        # reads only the new row.
        insert(events, "events", (c, "created", _ago(0)))
        result, _ = await trigger(client)
        assert (result.rows, result.raised, result.cleared) == (1, [], [])
        for key in (_key(a), _key(b)):
            assert (await _status(client, key)).occurrences == 1
    after.engine.dispose()
    events.dispose()


def _installs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "escalator.detection" and r.getMessage().startswith("detection")
    ]


async def _start_workers(
    settings: Settings, caplog: pytest.LogCaptureFixture, lines: int, count: int = 1
) -> list[str]:
    """Start ``count`` real workers (`run_worker`) at once, wait for ``lines`` install log
    lines, stop them; those lines."""
    before = len(_installs(caplog))
    stop = asyncio.Event()
    runs = [asyncio.create_task(run_worker(settings, Wiring(), stop)) for _ in range(count)]
    try:
        await eventually(lambda: len(_installs(caplog)) - before >= lines, within=30)
    finally:
        stop.set()
        await asyncio.gather(*runs)
    return _installs(caplog)[before:]


async def _every(client: Client) -> timedelta:
    [interval] = (await client.get_schedule_handle(SCHEDULE).describe()).schedule.spec.intervals
    return interval.every


async def test_worker_start_installs_the_schedule_idempotently(
    client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="escalator.detection")
    source = f"sqlite:///{tmp_path / 'events.db'}"
    task_queue = f"tq-{uuid.uuid4()}"
    records = f"sqlite:///{tmp_path / 'records.db'}"
    settings = detect_settings(
        client, tmp_path, records=records, source=source, task_queue=task_queue, detect_every="45m"
    )
    # Two workers start at once: one creates the schedule, the other updates the same one.
    lines = await _start_workers(settings, caplog, lines=2, count=2)
    assert sorted(line.split()[1] for line in lines) == ["created", "updated"], lines
    assert await _every(client) == timedelta(minutes=45)
    described = await client.get_schedule_handle(SCHEDULE).describe()
    assert described.schedule.policy.overlap is ScheduleOverlapPolicy.SKIP
    assert described.schedule.policy.catchup_window == timedelta(minutes=45)

    async def listed() -> list[str]:
        return [s.id async for s in await client.list_schedules() if s.id == SCHEDULE]

    # A restart with a changed interval updates the schedule; still one.
    faster = settings.model_copy(update={"detect_every": "30s"})
    assert await _start_workers(faster, caplog, lines=1) == [
        f"detection updated schedule {SCHEDULE}: events every 30s"
    ]
    assert await _every(client) == timedelta(seconds=30)
    assert await eventually(listed, within=15) == [SCHEDULE]

    # Detection turned off: the next start deletes the schedule it made.
    off = settings.model_copy(update={"detect_table": None})
    assert await _start_workers(off, caplog, lines=1) == [
        f"detection deleted schedule {SCHEDULE}: journey orders is not watched"
    ]
    with pytest.raises(RPCError) as gone:
        await client.get_schedule_handle(SCHEDULE).describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND


async def test_an_unusable_setting_is_one_error_line_and_the_worker_runs_on(
    client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="escalator.detection")
    settings = detect_settings(
        client,
        tmp_path,
        records=f"sqlite:///{tmp_path / 'records.db'}",
        source=f"sqlite:///{tmp_path / 'events.db'}",
        task_queue=f"tq-{uuid.uuid4()}",
        detect_table="shipments=events",
    )
    stop = asyncio.Event()
    run = asyncio.create_task(run_worker(settings, Wiring(), stop))

    def logged() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "escalator.detection"]

    try:
        [error] = await eventually(logged, within=30)
        assert not run.done()  # the worker polls on
    finally:
        stop.set()
        await run
    assert error.levelno == logging.ERROR
    assert error.getMessage() == (
        "detection schedules not installed: ESCALATOR_DETECT_TABLE entry 1 names journey "
        "'shipments', which the policies do not have (journeys: orders)"
    )
    with pytest.raises(RPCError):
        await client.get_schedule_handle(SCHEDULE).describe()


async def test_a_worker_without_detection_fails_the_run_saying_what_to_set(
    client: Client,
) -> None:
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(client, task_queue, Wiring()):
        with pytest.raises(WorkflowFailureError) as failed:
            await client.execute_workflow(
                DETECTION_WORKFLOW,
                DetectionRequest(journey="orders"),
                id=f"detect-{uuid.uuid4()}",
                task_queue=task_queue,
                result_type=DetectionResult,
            )
    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == "DetectionNotConfigured" and cause.cause.non_retryable
    assert "set ESCALATOR_DETECT_TABLE and ESCALATOR_DETECT_SOURCE on every worker" in str(
        cause.cause
    )
