"""kill -9 of workers in the middle of detection on Temporal: no exception lost, none raised twice.

Detection as production wires it: the journey's Temporal Schedule
(`escalator-detect-orders`) starts a DetectionWorkflow every second on two real
`escalator worker` processes, whose activity polls a SQL event table (an SQLite file
here) with its watch state and lease in the records (`watch_states`, on the suite's
PostgreSQL). The table holds many rows, so a run that re-reads it (every hand-over
between the replicas) takes long enough to be caught: the test waits until a run holds
the lease, finds the worker running its activity (the pending activity's worker
identity, ``pid@host``) and kills that one with SIGKILL, then restarts it; some kills
land between runs. Meanwhile batches of stuck cases arrive, and later rows that clear
some of them.

Then, over the final table: every stuck case has exactly one EscalationWorkflow (one
run of the workflow id its dedupe key names), none is missing, and every cleared case
is resolved. A worker that dies between a raise and the save raises that detection
again: an extra occurrence on the same exception, allowed and counted.

ESCALATOR_DETECT_LEASE=5s: a run on a killed worker frees the journey in seconds, not
the default 5 minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

# Appended, not prepended: it only adds the watch helpers, never shadows a name here.
sys.path.append(str(Path(__file__).parent.parent / "detectors"))

from fault_figures import FIGURES, Figures, figures_file, write_figures
from fault_processes import WorkerProcess, wait_until
from fault_stack import FaultStack
from sqlalchemy.pool import NullPool
from watch_helpers import WATCH_POLICY

from escalator.client import exception_handle
from escalator.workflows.contracts import ExceptionState, ExceptionStatus
from escalator.workflows.detection_contracts import detection_schedule_id

pytestmark = [pytest.mark.faults, pytest.mark.timeout(420)]

JOURNEY = "orders"
SCHEDULE = detection_schedule_id(JOURNEY)
FILLER = 15_000  # quiet cases (created, shipped): a run that re-reads the table takes a while
BATCHES = 6  # batches of stuck cases, one before each kill and one after the last
PER_BATCH = 5
KILLS = 5
LEASE = "5s"
POLICY = WATCH_POLICY  # latency rule `stuck` (waiting over an hour) on JOURNEY


class Events:
    """The journey's event table, appended in timestamp order (as detection requires): a
    clock from ten hours ago, a second per row, so every `waiting` row is already stuck."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.engine = sa.create_engine(self.url, poolclass=NullPool)
        self.table = sa.Table(
            "events",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("case_id", sa.Text),
            sa.Column("event", sa.Text),
            sa.Column("ts", sa.Text),
            sa.Column("actor", sa.Text),
        )
        self.table.metadata.create_all(self.engine)
        self.clock = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=10)

    def append(self, rows: list[tuple[str, str]]) -> float:
        """Insert (case, event) rows; the wall-clock time of the insert."""
        values = []
        for case, event in rows:
            self.clock += timedelta(milliseconds=100)
            values.append(
                {"case_id": case, "event": event, "ts": self.clock.isoformat(), "actor": "sys"}
            )
        with self.engine.begin() as conn:
            conn.execute(self.table.insert(), values)
        return time.time()


def _key(case: str) -> str:
    return f"exc:{JOURNEY}:stuck:{case}"


async def test_worker_kill9_during_detection_loses_and_doubles_no_exception(
    stack: FaultStack, tmp_path: Path
) -> None:
    client = stack.client
    assert client is not None
    tag = uuid.uuid4().hex[:6]
    events = Events(tmp_path / "events.db")
    # The filler's clock precedes every stuck case's.
    filler = [(f"quiet-{tag}-{i}", e) for i in range(FILLER) for e in ("created", "shipped")]
    events.append(filler)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "policy.yaml").write_text(json.dumps(POLICY))  # JSON is YAML
    env = {
        **stack.worker.env,
        # A queue of its own: the suite's worker has no detection set up.
        "TEMPORAL_TASK_QUEUE": f"detect-{tag}",
        "ESCALATOR_POLICY_DIR": str(policies),
        "ESCALATOR_STATE_DIR": str(tmp_path / "state"),
        "ESCALATOR_DETECT_TABLE": "events",
        "ESCALATOR_DETECT_SOURCE": events.url,
        "ESCALATOR_DETECT_EVERY": "1s",
        "ESCALATOR_DETECT_LEASE": LEASE,
    }
    workers = [WorkerProcess(tmp_path / f"worker-{n}", env) for n in (1, 2)]
    records = sa.create_engine(stack.db.url, poolclass=NullPool)
    handle = client.get_schedule_handle(SCHEDULE)
    inserted: dict[str, float] = {}  # stuck case -> when its waiting row went in
    cleared: list[str] = []
    kills: list[str] = []
    try:
        await asyncio.gather(*(w.start() for w in workers))

        async def schedule_there() -> bool:
            try:
                await handle.describe()
                return True
            except Exception:
                return False

        await wait_until("the detection schedule", schedule_there, within=60)

        def add_batch(n: int) -> None:
            cases = [f"stuck-{tag}-{n}-{i}" for i in range(PER_BATCH)]
            at = events.append([(c, e) for c in cases for e in ("created", "waiting")])
            inserted.update(dict.fromkeys(cases, at))

        def lease_owner() -> str | None:
            with records.connect() as conn:
                row = conn.execute(
                    sa.text("SELECT lease_owner FROM watch_states WHERE journey = :j"),
                    {"j": JOURNEY},
                ).first()
            return None if row is None or row[0] is None else str(row[0])

        async def running_worker() -> WorkerProcess | None:
            """The worker whose activity holds the lease now, if one does."""
            owner = lease_owner()
            if owner is None:
                return None
            workflow_id = owner.rsplit("/", 1)[0]
            try:
                raw = (await client.get_workflow_handle(workflow_id).describe()).raw_description
            except Exception:
                return None
            for pending in raw.pending_activities:
                pid = pending.last_worker_identity.partition("@")[0]
                for w in workers:
                    if w.running() and str(w.pid) == pid:
                        return w
            return None

        for n in range(KILLS):
            add_batch(n)
            await asyncio.sleep(1.5)
            victim, point = None, "between runs"
            deadline = time.monotonic() + 20
            while victim is None and time.monotonic() < deadline:
                victim = await running_worker()
                await asyncio.sleep(0.02)
            if victim is None:
                victim = workers[n % 2]
            else:
                point = "mid-run (its activity held the lease)"
            victim.kill9()
            kills.append(point)
            await victim.start()
        add_batch(KILLS)

        # Some stuck cases get unstuck once their exception is raised: they must clear.
        async def raised(key: str) -> bool:
            try:
                await exception_handle(client, key).describe()
                return True
            except Exception:
                return False

        cleared = [c for c in sorted(inserted) if c.endswith("-0") or c.endswith("-3")]
        for case in cleared:
            await wait_until(f"{_key(case)} raised", lambda c=case: raised(_key(c)), within=120)
        # Cleared now (the clock jumps to the present, still in timestamp order).
        events.clock = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
        events.append([(c, "allocated") for c in cleared])

        async def done() -> bool:
            for case in inserted:
                if not await raised(_key(case)):
                    return False
            for case in cleared:
                status = await exception_handle(client, _key(case)).query(
                    "status", result_type=ExceptionStatus
                )
                if status.state is not ExceptionState.RESOLVED:
                    return False
            return True

        with contextlib.suppress(TimeoutError):  # judged below, naming what is missing
            await wait_until("every stuck case raised, every cleared one resolved", done, within=90)
        await asyncio.sleep(3)  # a run in flight may still raise: count after it

        runs_of: dict[str, int] = {}
        started: dict[str, float] = {}
        occurrences: dict[str, int] = {}
        states: dict[str, ExceptionState] = {}
        for case in inserted:
            key = _key(case)
            runs = [wf async for wf in client.list_workflows(f'WorkflowId = "{key}"')]
            runs_of[case] = len(runs)
            if runs:
                started[case] = min(r.start_time.timestamp() for r in runs)
                status = await exception_handle(client, key).query(
                    "status", result_type=ExceptionStatus
                )
                occurrences[case] = status.occurrences
                states[case] = status.state
        detection_runs = (await handle.describe()).info.num_actions
    finally:
        for w in workers:
            w.stop()
        with contextlib.suppress(Exception):  # never installed: nothing to delete
            await handle.delete()
        records.dispose()
        events.engine.dispose()

    missing = sorted(c for c in inserted if runs_of.get(c, 0) == 0)
    doubled = sorted(c for c in inserted if runs_of.get(c, 0) > 1)
    extra = sum(max(0, n - 1) for n in occurrences.values())
    not_cleared = sorted(c for c in cleared if states.get(c) is not ExceptionState.RESOLVED)
    delays = {c: started[c] - inserted[c] for c in started}
    worst = max(delays, key=lambda c: delays[c]) if delays else None
    mid_run = sum(1 for k in kills if k.startswith("mid-run"))
    figures = Figures(
        scenario=f"worker kill -9 x{len(kills)} during detection ({mid_run} mid-run)",
        faults=(
            f"kill -9 of one of two `escalator worker`s running detection every 1 s "
            f"({mid_run} while a run held the lease); {detection_runs} detection runs, "
            f"{len(inserted)} raised, {extra} extra occurrences"
        ),
        faults_injected=len(kills),
        exceptions=len(inserted),
        expected=len(inserted),
        delivered=len(inserted) - len(missing),
        duplicated=sum(runs_of[c] - 1 for c in doubled),
        lost=len(missing),
        raise_errors=extra,
        worst_extra_delay_s=round(delays[worst], 2) if worst else None,
        worst_page=f"row -> exception {_key(worst)}" if worst else None,
        duplicates=[f"{_key(c)} x{runs_of[c]}" for c in doubled],
        missing=[_key(c) for c in missing],
    )
    FIGURES.append(figures)
    write_figures(figures_file())
    found = {
        "kills": len(kills),
        "some mid-run": mid_run >= 2,
        "missing": missing,
        "raised twice as a new exception": doubled,
        "not cleared": not_cleared,
    }
    wanted = {
        "kills": KILLS,
        "some mid-run": True,
        "missing": [],
        "raised twice as a new exception": [],
        "not cleared": [],
    }
    assert found == wanted, f"{figures.line()}\nkills: {kills}\nstates: {states}"
