"""HeartbeatWorkflow: one durable timer per heartbeat monitor.

Waits for a ``beat`` signal until the beat is due (``every`` after the last one, in
the calendar's open hours when the heartbeat has a calendar). No beat in time: an
activity raises the heartbeat's rule for subject ``heartbeat:NAME`` through the
normal raise path (routing, escalation). The next beat clears it (the exception
auto-resolves). Deterministic: the due time is computed from workflow time and the
resolved calendar in the input; no I/O here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.policies.business_hours import add_business_time
    from escalator.workflows.heartbeat_contracts import (
        ACTIVITY_HEARTBEAT_MISSED,
        ACTIVITY_HEARTBEAT_SEEN,
        BEAT_SIGNAL,
        HEARTBEAT_WORKFLOW,
        Beat,
        HeartbeatInput,
        HeartbeatMissed,
        HeartbeatSeen,
        HeartbeatStatus,
    )

__all__ = ["HeartbeatWorkflow"]

HISTORY_LIMIT = 2_000  # events before the monitor continues as new (beats never end)
RAISE_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name=HEARTBEAT_WORKFLOW)
class HeartbeatWorkflow:
    def __init__(self) -> None:
        self._pending: list[Beat] = []
        self._status: HeartbeatStatus | None = None

    @workflow.signal(name=BEAT_SIGNAL)
    def beat(self, beat: Beat) -> None:
        self._pending.append(beat)

    @workflow.query(name="status")
    def status(self) -> HeartbeatStatus | None:
        return self._status

    @workflow.run
    async def run(self, inp: HeartbeatInput) -> None:
        last = inp.last_seen or workflow.now()
        missed, beats = inp.missed, inp.beats
        while True:
            due = _due(last, inp)
            self._status = HeartbeatStatus(
                name=inp.name, last_seen=last, due=due, missed=missed, beats=beats
            )
            if not self._pending:
                if missed:
                    await workflow.wait_condition(lambda: bool(self._pending))
                elif not await self._beat_within(due - workflow.now()):
                    await self._raise(inp, last, due)
                    missed = True
                    continue
            # Beats that arrived together (one workflow task) each count.
            arrived = max(1, len(self._pending))
            self._pending.clear()
            last, beats = workflow.now(), beats + arrived
            if missed:
                await self._clear(inp, last)
                missed = False
            if workflow.info().get_current_history_length() > HISTORY_LIMIT:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    inp.model_copy(update={"last_seen": last, "missed": missed, "beats": beats})
                )

    async def _beat_within(self, wait: timedelta) -> bool:
        if wait <= timedelta(0):
            return bool(self._pending)
        try:
            await workflow.wait_condition(lambda: bool(self._pending), timeout=wait)
        except TimeoutError:
            return False
        return True

    async def _raise(self, inp: HeartbeatInput, last: datetime, due: datetime) -> None:
        workflow.set_current_details(
            f"Heartbeat {inp.name} missed: none since {last:%Y-%m-%d %H:%M} UTC"
        )
        await workflow.execute_activity(
            ACTIVITY_HEARTBEAT_MISSED,
            HeartbeatMissed(
                name=inp.name, policy=inp.policy, last_seen=last, due=due, every=inp.every
            ),
            result_type=str,
            start_to_close_timeout=RAISE_TIMEOUT,
            # Temporal's default retries, without a cap: a miss must not be lost.
            summary=f"heartbeat {inp.name} missed",
        )

    async def _clear(self, inp: HeartbeatInput, at: datetime) -> None:
        workflow.set_current_details(f"Heartbeat {inp.name} seen again at {at:%Y-%m-%d %H:%M} UTC")
        await workflow.execute_activity(
            ACTIVITY_HEARTBEAT_SEEN,
            HeartbeatSeen(
                name=inp.name, journey=inp.policy.rule.journey, rule=inp.policy.rule.name, at=at
            ),
            result_type=bool,
            start_to_close_timeout=RAISE_TIMEOUT,
            summary=f"heartbeat {inp.name} seen again",
        )


def _due(last: datetime, inp: HeartbeatInput) -> datetime:
    return add_business_time(last, inp.every, inp.calendar)
