"""Timeline steps to the records, in the background: the records writer of one run.

Used by runs with per-target delivery (patch ``delivery-per-target``): a
records outage of any length must delay no timer and lose no step, so the
steps go to the records activity from a background task with no attempt cap,
one batch at a time, and nothing in the escalation ever waits for it -- except
the end of a run (every step written) and a continue-as-new (the batch in
flight written; the rest is carried with the state's ``unrecorded``).
No I/O here: Temporal calls only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalator.workflows.activity_contracts import ACTIVITY_RECORD_STEPS, RecordStepsInput
    from escalator.workflows.constants import RECORD_FOREVER
    from escalator.workflows.escalation_state import EscalationState

__all__ = ["StepWriter"]


class StepWriter:
    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._stuck = False  # the records activity failed for good: stop waiting on it
        self._paused = False  # continuing as new: no new batch may take steps now

    def soon(self, s: EscalationState) -> None:
        """Start writing the unrecorded steps unless a batch is already on its way."""
        idle = self._task is None or self._task.done()
        if s.unrecorded and idle and not (self._stuck or self._paused):
            self._task = asyncio.create_task(self._write_batch(s))

    async def _write_batch(self, s: EscalationState) -> None:
        """One batch, then the next in a new task (so a continue-as-new waits for the batch
        in flight only, never for steps arriving while it waits)."""
        steps = s.take_unrecorded()
        kinds = ", ".join(dict.fromkeys(step.kind.value for step in steps))
        try:
            await workflow.execute_activity(
                ACTIVITY_RECORD_STEPS,
                RecordStepsInput(steps=steps),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RECORD_FOREVER,
                summary=f"record {kinds}",
            )
        except ActivityError:  # not retryable (a bug): keep the steps, stop waiting
            s.unrecorded = steps + s.unrecorded
            self._stuck = True
            self._task = None
            return
        self._task = None
        self.soon(s)

    async def drain(self, s: EscalationState) -> None:
        """Before the run ends: every step handed to the records."""
        self.soon(s)
        while self._task is not None:
            await self._task
            self.soon(s)

    async def pause(self, s: EscalationState) -> None:
        """Before a continue-as-new: the batch in flight written, nothing new started."""
        self.soon(s)
        self._paused = True
        if self._task is not None:
            await self._task
        self._paused = False
