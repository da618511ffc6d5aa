"""The state of one exception and the pure decisions taken on it.

No Temporal calls here: the workflow passes ``now`` in, so every function is
deterministic and testable without a server. The workflow class
(`escalator/workflows/escalation.py`) drives the timers and activities around it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from escalator.policies.business_hours import add_business_time
from escalator.policies.duration import format_duration
from escalator.policies.roles import EscalationLevel
from escalator.policies.snapshot import ExceptionPolicy
from escalator.workflows.exception_contracts import (
    Detection,
    ExceptionState,
    ExceptionStatus,
    Routing,
    StepKind,
    TimelineStep,
)
from escalator.workflows.pending_step import PendingStep

if TYPE_CHECKING:  # the input carries a state derived from this one (carried.py)
    from escalator.workflows.contracts import EscalationInput

__all__ = ["Deadline", "EscalationState"]

# "step": the next step of a member's notification rule (escalator/workflows/personal_steps.py).
DeadlineKind = Literal["ack", "restore", "ack_timeout", "snooze", "step"]
SEEN = 1000  # detection fingerprints kept to recognise a retried call


def fingerprint(detection: Detection) -> str:
    return hashlib.sha256(detection.model_dump_json().encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    due: datetime
    summary: str  # shown on the timer in the Temporal UI


@dataclass
class EscalationState:
    exception_id: str
    run_id: str
    detection: Detection
    policy: ExceptionPolicy
    detected_at: datetime
    reopened_from: str | None = None
    rework_count: int = 0
    previous_resolved_at: datetime | None = None  # of the run this one reopens (hold-down)
    state: ExceptionState = ExceptionState.OPEN
    level: int = 0  # 1-based; 0 until the first page
    round: int = 0  # completed passes through all levels (policy `repeat`)
    level_started_at: datetime | None = None
    role_override: str | None = None  # set by reassign, until the next escalation
    notified_roles: list[str] = field(default_factory=list)
    occurrences: int = 1
    last_detection: Detection | None = None  # the latest one counted, to ignore retries
    # Fingerprints of the detections counted lately (patch ``occurrence-once``): a call
    # retried after a burst of others (Temporal aborts updates beyond 10 in flight) is
    # not the latest any more, and must not count twice. Bounded; carried.
    seen: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    routing: Routing | None = None
    routing_reason: str | None = None  # the routing headline, for messages and the UI
    # Routed by the routing-v2 code (patch): set at detection, kept by every later run.
    routing_v2: bool = True
    storm_id: str | None = None  # the storm this exception joined (grouped), if any
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    last_progress_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None
    resolution_real: bool | None = None  # False: the owner said "false alarm"
    ack_due: datetime | None = None
    restore_due: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    snoozed_from: ExceptionState | None = None
    exhausted: bool = False
    timeline: list[TimelineStep] = field(default_factory=list)
    unrecorded: list[TimelineStep] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)  # role|channel|target -> message id
    notify_count: int = 0  # numbers notification steps: part of every idempotency key
    # Steps of members' notification rules waiting for their time (patch
    # ``personal-notify-rules``); an acknowledgement, snooze, reassignment or resolution
    # stops them. In the state, so they are carried across continue-as-new.
    personal_steps: list[PendingStep] = field(default_factory=list)
    # The last step's seq. A counter, not len(timeline): a run that continued as new
    # carries only part of the timeline, and seq must go on where the last run stopped.
    seq: int = 0
    runs: int = 1  # runs this exception has gone through while open (continue-as-new)

    @classmethod
    def start(
        cls, inp: EscalationInput, exception_id: str, run_id: str, now: datetime
    ) -> EscalationState:
        return cls(
            exception_id=exception_id,
            run_id=run_id,
            detection=inp.detection,
            policy=inp.policy,
            detected_at=inp.detection.detected_at or now,
            reopened_from=inp.reopened_from,
            rework_count=inp.rework_count,
            previous_resolved_at=inp.previous_resolved_at,
            occurrences=inp.occurrences,
            last_detection=inp.last_detection,
            payload=dict((inp.last_detection or inp.detection).payload),
            seen=[fingerprint(d) for d in (inp.detection, inp.last_detection) if d is not None],
        )

    def seen_before(self, detection: Detection) -> bool:
        return fingerprint(detection) in self.seen

    def remember(self, detection: Detection) -> None:
        self.seen = [*self.seen[-(SEEN - 1) :], fingerprint(detection)]

    # --- the timeline ---

    def record(
        self,
        kind: StepKind,
        at: datetime,
        /,
        *,
        actor: str | None = None,
        level: int | None = None,
        role: str | None = None,
        **detail: Any,
    ) -> TimelineStep:
        step = TimelineStep(
            exception_id=self.exception_id,
            run_id=self.run_id,
            seq=self.seq + 1,
            kind=kind,
            at=at,
            actor=actor,
            level=level,
            role=role,
            detail=detail,
        )
        self.seq = step.seq
        self.timeline.append(step)
        self.unrecorded.append(step)
        return step

    def take_unrecorded(self) -> list[TimelineStep]:
        steps, self.unrecorded = self.unrecorded, []
        return steps

    # --- the policy, read at the current level ---

    @property
    def levels(self) -> list[EscalationLevel]:
        return self.policy.escalation.levels

    @property
    def current_level(self) -> EscalationLevel:
        return self.levels[max(self.level, 1) - 1]

    @property
    def owner_role(self) -> str:
        if self.role_override:
            return self.role_override
        if self.level == 0:
            return self.policy.rule.owner
        return self.current_level.role

    @property
    def resolved(self) -> bool:
        return self.state is ExceptionState.RESOLVED

    def after(self, start: datetime, duration: timedelta, business_hours: bool) -> datetime:
        """``start + duration``, counted in the policy's calendar when the level says so."""
        if business_hours and self.policy.calendar is not None:
            return add_business_time(start, duration, self.policy.calendar).astimezone(UTC)
        return start + duration

    def start_level(self, level: int, now: datetime, *, keep_override: bool = False) -> None:
        """Start paging ``level``; a reassignment lasts until the next escalation, except one
        made before the first page (``keep_override``), which decides who that page goes to."""
        self.level = level
        self.level_started_at = now
        if not keep_override:
            self.role_override = None
        self.restart_ack_window(now)

    def answered_before_page(self) -> bool:
        """Someone (an incident lead) reassigned or acknowledged it before level 1 was paged."""
        return self.role_override is not None or self.state is ExceptionState.ACKNOWLEDGED

    def restart_ack_window(self, now: datetime) -> None:
        lvl = self.current_level
        self.level_started_at = now
        self.ack_due = self.after(now, lvl.response_time, lvl.business_hours)

    def restart_restore_window(self, now: datetime) -> None:
        ttr = self.policy.escalation.time_to_restore
        self.restore_due = (
            None if ttr is None else self.after(now, ttr, self.current_level.business_hours)
        )

    def reapply_deadlines(self) -> None:
        """After a policy change: the same level, timed by the new policy from when it began."""
        self.level = min(self.level, len(self.levels))
        if self.level >= 1 and self.level_started_at and self.state is ExceptionState.OPEN:
            lvl = self.current_level
            self.ack_due = self.after(self.level_started_at, lvl.response_time, lvl.business_hours)
        if self.state is ExceptionState.ACKNOWLEDGED and self.acknowledged_at:
            self.restart_restore_window(self.acknowledged_at)

    def ack_timeout_due(self) -> datetime | None:
        timeout = self.policy.escalation.ack_timeout
        if timeout is None or self.last_progress_at is None:
            return None
        return self.last_progress_at + timeout

    def next_deadline(self) -> Deadline | None:
        """The one timer the workflow waits on now (None: wait for people only): the
        response deadline, or a member's next step when that comes first. Steps only run
        while the exception is open: nobody has it yet."""
        deadline = self._response_deadline()
        if self.state is ExceptionState.OPEN and self.personal_steps:
            step = min(self.personal_steps, key=lambda p: p.due)
            if deadline is None or step.due < deadline.due:
                return Deadline("step", step.due, step.label)
        return deadline

    def _response_deadline(self) -> Deadline | None:
        if self.state is ExceptionState.OPEN and self.ack_due and not self._flagged():
            lvl = self.current_level
            return Deadline(
                "ack",
                self.ack_due,
                f"ack window: {self.owner_role}, {format_duration(lvl.response_time)}"
                + (" (business hours)" if lvl.business_hours else ""),
            )
        if self.state is ExceptionState.SNOOZED and self.snoozed_until:
            return Deadline("snooze", self.snoozed_until, f"snoozed by {self.snoozed_by}")
        if self.state is ExceptionState.ACKNOWLEDGED:
            candidates: list[Deadline] = []
            ttr = self.policy.escalation.time_to_restore
            if self.restore_due and ttr is not None:
                candidates.append(
                    Deadline(
                        "restore",
                        self.restore_due,
                        f"time to restore: {self.acknowledged_by}, {format_duration(ttr)}",
                    )
                )
            timeout_due = self.ack_timeout_due()
            if timeout_due and self.policy.escalation.ack_timeout is not None:
                candidates.append(
                    Deadline(
                        "ack_timeout",
                        timeout_due,
                        f"ack timeout: no progress from {self.acknowledged_by}, "
                        f"{format_duration(self.policy.escalation.ack_timeout)}",
                    )
                )
            if candidates:
                return min(candidates, key=lambda d: d.due)
        return None

    def _flagged(self) -> bool:
        """Exhausted and not repeating: nothing left to page, stay open until someone acts."""
        return self.exhausted and self.policy.escalation.on_exhausted != "repeat"

    def add_notified(self, role: str) -> None:
        if role not in self.notified_roles:
            self.notified_roles.append(role)

    # --- the query ---

    def status(self, *, with_timeline: bool = True) -> ExceptionStatus:
        rule = self.policy.rule
        return ExceptionStatus(
            exception_id=self.exception_id,
            journey=self.detection.journey,
            rule=self.detection.rule,
            kind=rule.kind,
            subject=self.detection.subject,
            severity=rule.severity,
            state=self.state,
            level=self.level,
            owner_role=self.owner_role,
            notified_roles=list(self.notified_roles),
            occurrences=self.occurrences,
            onset=self.detection.onset,
            detected_at=self.detected_at,
            acknowledged_by=self.acknowledged_by,
            acknowledged_at=self.acknowledged_at,
            resolved_by=self.resolved_by,
            resolved_at=self.resolved_at,
            resolution_note=self.resolution_note,
            resolution_real=self.resolution_real,
            ack_due=self.ack_due if self.state is ExceptionState.OPEN else None,
            restore_due=self.restore_due if self.state is ExceptionState.ACKNOWLEDGED else None,
            snoozed_until=self.snoozed_until if self.state is ExceptionState.SNOOZED else None,
            routing=self.routing,
            routing_reason=self.routing_reason,
            policy_version=self.policy.version,
            exhausted=self.exhausted,
            payload=dict(self.payload),
            timeline=list(self.timeline) if with_timeline else [],
        )
