"""What an open exception takes into its next run when it continues as new.

An exception nobody resolves keeps paging (``on_exhausted: repeat``, long
snoozes, reminders), and every page, timer and record adds history events;
Temporal terminates a run at 50k events or 50 MB, which would lose the
exception. So the open run continues as new, and the new run must be the same
exception to everyone: the same level, state and deadlines, the same people
allowed to respond, the same Slack messages updated in place, no page sent
again. Pure functions: the workflow (`escalator/workflows/escalation.py`) decides when.

Records: steps keep the run id of the run that detected the exception (the
records run) and their seq goes on, so the records hold one exception whose
steps are numbered 1..n without gap or repeat, and time to acknowledge and to
restore are still measured from the original detection. The new Temporal run
id is not part of any record.
"""

from __future__ import annotations

from typing import Any

from escalator.workflows.contracts import (
    CarriedState,
    EscalationInput,
    ExceptionState,
    StepKind,
    TimelineStep,
)
from escalator.workflows.escalation_state import EscalationState

__all__ = ["KEEP_STEPS", "carry", "resume", "trimmed"]

# The status query and every continue-as-new input hold the timeline: carrying all of
# it would grow without bound, the very thing continue-as-new is for. The records hold
# every step; the query keeps how it began and the latest steps.
KEEP_STEPS = 100
OPENING: frozenset[StepKind] = frozenset({StepKind.DETECTED, StepKind.REOPENED, StepKind.ROUTED})


def trimmed(timeline: list[TimelineStep], keep: int = KEEP_STEPS) -> list[TimelineStep]:
    """The opening steps (detection, reopening, routing) and the latest ``keep`` steps."""
    if len(timeline) <= keep:
        return list(timeline)
    latest = timeline[-keep:]
    first = latest[0].seq
    opening = [st for st in timeline if st.kind in OPENING and st.seq < first]
    return opening[:3] + latest


def carry(
    s: EscalationState,
    *,
    inbox: list[tuple[str, str | None]],
    routing_v2: bool,
    headline: str,
    storm_id: str | None,
    history_limit: int,
    held: dict[str, Any] | None = None,
    holding: str | None = None,
) -> EscalationInput:
    """The next run's input: the same exception, its live state in ``carried``."""
    if s.state is ExceptionState.RESOLVED:  # a resolved run ends, or reopens: never carried
        raise ValueError("only an open exception continues as new")
    carried = CarriedState(
        run_id=s.run_id,
        detected_at=s.detected_at,
        seq=s.seq,
        state=s.state,
        level=s.level,
        round=s.round,
        level_started_at=s.level_started_at,
        role_override=s.role_override,
        notified_roles=list(s.notified_roles),
        occurrences=s.occurrences,
        last_detection=s.last_detection,
        seen=list(s.seen),
        payload=dict(s.payload),
        routing=s.routing,
        routing_reason=s.routing_reason,
        acknowledged_by=s.acknowledged_by,
        acknowledged_at=s.acknowledged_at,
        last_progress_at=s.last_progress_at,
        ack_due=s.ack_due,
        restore_due=s.restore_due,
        snoozed_until=s.snoozed_until,
        snoozed_by=s.snoozed_by,
        snoozed_from=s.snoozed_from,
        exhausted=s.exhausted,
        messages=dict(s.messages),
        notify_count=s.notify_count,
        timeline=trimmed(s.timeline),
        unrecorded=list(s.unrecorded),
        inbox=list(inbox),
        routing_v2=routing_v2,
        headline=headline,
        storm_id=storm_id,
        held=held,
        holding=holding,
        runs=s.runs + 1,
    )
    return EscalationInput(
        detection=s.detection,  # the detection that started it: a retry of it stays "new"
        policy=s.policy,  # as applied last (apply_latest_policy), not as first started
        reopened_from=s.reopened_from,
        rework_count=s.rework_count,
        previous_resolved_at=s.previous_resolved_at,
        history_limit=history_limit,
        carried=carried,
    )


def resume(inp: EscalationInput, exception_id: str) -> EscalationState:
    """The state of a run that continued as new, exactly as the last run left it."""
    c = inp.carried
    if c is None:
        raise ValueError("nothing carried: this run starts a new exception")
    return EscalationState(
        exception_id=exception_id,
        run_id=c.run_id,
        detection=inp.detection,
        policy=inp.policy,
        detected_at=c.detected_at,
        reopened_from=inp.reopened_from,
        rework_count=inp.rework_count,
        previous_resolved_at=inp.previous_resolved_at,
        state=c.state,
        level=c.level,
        round=c.round,
        level_started_at=c.level_started_at,
        role_override=c.role_override,
        notified_roles=list(c.notified_roles),
        occurrences=c.occurrences,
        last_detection=c.last_detection,
        seen=list(c.seen),
        payload=dict(c.payload),
        routing=c.routing,
        routing_reason=c.routing_reason,
        acknowledged_by=c.acknowledged_by,
        acknowledged_at=c.acknowledged_at,
        last_progress_at=c.last_progress_at,
        ack_due=c.ack_due,
        restore_due=c.restore_due,
        snoozed_until=c.snoozed_until,
        snoozed_by=c.snoozed_by,
        snoozed_from=c.snoozed_from,
        exhausted=c.exhausted,
        timeline=list(c.timeline),
        unrecorded=list(c.unrecorded),
        messages=dict(c.messages),
        notify_count=c.notify_count,
        seq=c.seq,
        runs=c.runs,
    )
