"""The production wiring the fault suite runs and breaks: one stack per test session.

Fake Slack and Twilio on 127.0.0.1, the dev server on a file, a PostgreSQL
database of the run's own, and the real `escalator worker` pointed at all of
them by its settings (SLACK_API_URL, TWILIO_API_URL, ESCALATOR_DATABASE_URL,
TEMPORAL_ADDRESS). Scenarios share it and tell their exceptions apart by
subject; `settle` waits (with a deadline) until the providers and the records
say what the scenario needs, then judges.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fakes.slack_api import FakeSlack
from fakes.twilio_api import FakeTwilio
from fault_figures import FIGURES, Figures, figures_file, judge, provider_pages, write_figures
from fault_policy import PAGES, Page, detection, fault_policy
from fault_processes import DevServer, WorkerProcess
from fault_records import RecordsDb, Snapshot
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from escalator.client import Raised, raise_exception
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.contracts import dedupe_key

__all__ = ["FaultStack", "Outcome"]

TWILIO_FROM = "+3197010000000"
RAISE_PATIENCE = 90.0  # seconds a detector keeps retrying one raise
QUIET = 3.0  # seconds without a new copy before the count of duplicates is final


@dataclass
class Outcome:
    figures: Figures
    records: Snapshot
    problems: list[str]  # records inconsistencies

    def summary(self) -> str:
        lines = [self.figures.line()]
        if self.figures.worst_page:
            lines.append(f"  latest page: {self.figures.worst_page}")
        lines += [f"  duplicated: {d}" for d in self.figures.duplicates[:10]]
        lines += [f"  lost: {m}" for m in self.figures.missing[:10]]
        lines += [f"  records: {p}" for p in self.problems[:10]]
        return "\n".join(lines)


@dataclass
class FaultStack:
    root: Path
    slack: FakeSlack
    twilio: FakeTwilio
    server: DevServer
    db: RecordsDb
    worker: WorkerProcess
    client: Client | None = None
    raise_errors: dict[str, int] = field(default_factory=dict)  # subject -> failed raise calls
    policy: ExceptionPolicy = field(default_factory=fault_policy)

    @classmethod
    async def start(cls, root: Path) -> FaultStack:
        slack, twilio = FakeSlack().start(), FakeTwilio().start()
        server = DevServer(root / "temporal")
        db = RecordsDb.create()
        task_queue = f"faults-{uuid.uuid4().hex[:8]}"
        env = {
            "TEMPORAL_ADDRESS": server.address,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "ESCALATOR_STATE_DIR": str(root / "state"),
            "ESCALATOR_DATABASE_URL": db.url,
            "ESCALATOR_ROUTING": "page",  # every exception is a page: the suite counts pages
            "ESCALATOR_DIGEST_INSTALL": "false",
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_API_URL": slack.api_url,
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_FROM_NUMBER": TWILIO_FROM,
            "TWILIO_API_URL": twilio.base_url,
        }
        stack = cls(root, slack, twilio, server, db, WorkerProcess(root / "worker", env))
        await server.start()
        stack.client = await server.client()
        await stack.worker.start()
        return stack

    @property
    def task_queue(self) -> str:
        return self.worker.env["TEMPORAL_TASK_QUEUE"]

    async def stop(self) -> None:
        self.worker.stop()
        self.server.stop()
        self.slack.stop()
        self.twilio.stop()
        self.db.drop()

    # --- raising ---

    async def raise_one(self, subject: str, **payload: object) -> Raised:
        assert self.client is not None
        return await raise_exception(
            self.client,
            detection(subject, **payload),
            policy=self.policy,
            task_queue=self.task_queue,
        )

    async def raise_retrying(self, subject: str, **payload: object) -> Raised:
        """Raise as a detector does: an error is retried (the raise is idempotent) and counted."""
        deadline = time.monotonic() + RAISE_PATIENCE
        while True:
            try:
                return await self.raise_one(subject, **payload)
            except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
                # Update-with-start refused (in-flight update limit, workflow task failed) or
                # its RPC timed out while no worker answered: the detector tries again.
                self.raise_errors[subject] = self.raise_errors.get(subject, 0) + 1
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"raising {subject} failed for {RAISE_PATIENCE:g} s"
                    ) from err
                await asyncio.sleep(1)

    async def raise_burst(self, subjects: list[str]) -> dict[str, float]:
        """Raise all at once; each subject's raise time (wall clock, before the first call)."""
        raised_at = {s: time.time() for s in subjects}
        await asyncio.gather(*(self.raise_retrying(s) for s in subjects))
        return raised_at

    # --- judging ---

    def received(self, subjects: set[str]) -> dict[tuple[str, str, str], list[float]]:
        return provider_pages(self.slack, self.twilio, subjects)

    def records(self, subjects: set[str]) -> Snapshot:
        return self.db.snapshot([exception_id(s) for s in subjects])

    async def settle(
        self,
        scenario: str,
        faults: str,
        faults_injected: Callable[[], int],
        raised_at: dict[str, float],
        *,
        within: float,
        steps: list[str] | None = None,
        pages: Sequence[Page] = PAGES,
    ) -> Outcome:
        """Wait until every page is at its provider and recorded sent (or ``within`` s pass),
        then ``QUIET`` s more for late copies; judge, keep the figures, return them.
        ``steps``: the step kinds every exception's recorded timeline must start with."""
        subjects = set(raised_at)
        expected = {exception_id(s): [(p.channel, p.target) for p in pages] for s in subjects}
        deadline = time.monotonic() + within
        while True:
            received = self.received(subjects)
            all_there = all(received.get((s, p.channel, p.target)) for s in subjects for p in pages)
            records = self.records(subjects)
            problems = records.problems(expected, steps)
            if (all_there and not problems) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        await self._quiet(subjects)
        received = self.received(subjects)
        records = self.records(subjects)
        figures = judge(
            scenario,
            faults,
            faults_injected(),
            raised_at,
            received,
            recorded_failed=records.failed,
            raise_errors=sum(self.raise_errors.get(s, 0) for s in subjects),
            pages=pages,
        )
        FIGURES.append(figures)
        write_figures(figures_file())  # now, not only at the end: a run cut short keeps them
        return Outcome(figures, records, records.problems(expected, steps))

    async def _quiet(self, subjects: set[str]) -> None:
        """Until no new copy arrived for QUIET seconds (at most 4 QUIET spans)."""
        limit = time.monotonic() + 4 * QUIET
        count = -1
        while time.monotonic() < limit:
            now = sum(len(v) for v in self.received(subjects).values())
            if now == count:
                return
            count = now
            await asyncio.sleep(QUIET)


def exception_id(subject: str) -> str:
    d = detection(subject)
    return dedupe_key(d.journey, d.rule, d.subject)
