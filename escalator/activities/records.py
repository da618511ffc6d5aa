"""The records protocol the escalation workflow writes its timeline through.

`Recorder` is what the records store implements (the SQL store arrives with the
records issue); `InMemoryRecorder` is the in-process implementation used until
then and in tests. Both must be idempotent: an activity retried after a
timeout hands the same steps again, keyed on (exception_id, run_id, seq) and
notifications on their idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from temporalio import activity

from escalator.workflows.activity_contracts import (
    ACTIVITY_RECORD_STEPS,
    Delivery,
    Notification,
    RecordStepsInput,
)
from escalator.workflows.contracts import TimelineStep

__all__ = ["InMemoryRecorder", "RecordActivities", "Recorder"]

StepKey = tuple[str, str, int]


@runtime_checkable
class Recorder(Protocol):
    async def record_step(self, step: TimelineStep) -> None:
        """Store one timeline step; a second call with the same key changes nothing."""
        ...

    async def record_notification(
        self, notification: Notification, delivery: Delivery, status: str, attempt: int
    ) -> None:
        """Store one delivery attempt's result (``sent`` / ``retrying`` / ``failed``),
        keyed on ``notification.idempotency_key``."""
        ...


@dataclass
class InMemoryRecorder:
    steps: dict[StepKey, TimelineStep] = field(default_factory=dict)
    notifications: dict[str, tuple[Notification, Delivery]] = field(default_factory=dict)

    async def record_step(self, step: TimelineStep) -> None:
        self.steps.setdefault((step.exception_id, step.run_id, step.seq), step)

    async def record_notification(
        self, notification: Notification, delivery: Delivery, status: str, attempt: int
    ) -> None:
        # A retry after a failed delivery overwrites it; a delivered one stays delivered.
        known = self.notifications.get(notification.idempotency_key)
        if known is None or not known[1].ok:
            self.notifications[notification.idempotency_key] = (notification, delivery)

    def timeline(self, exception_id: str) -> list[TimelineStep]:
        """Every recorded step of one exception, all runs, in time order."""
        found = [s for (eid, _, _), s in self.steps.items() if eid == exception_id]
        return sorted(found, key=lambda s: (s.at, s.run_id, s.seq))


class RecordActivities:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    @activity.defn(name=ACTIVITY_RECORD_STEPS)
    async def record_steps(self, inp: RecordStepsInput) -> None:
        for step in inp.steps:
            await self.recorder.record_step(step)
