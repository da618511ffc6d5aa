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

from escalator.workflows.carried import CARRIED, CarriedState, InboxPair
from escalator.workflows.contracts import EscalationInput, ExceptionState, StepKind, TimelineStep
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


def _own(value: Any) -> Any:
    """A copy of a list or dict, so the two runs' states share no container."""
    return value.copy() if isinstance(value, list | dict) else value


def carry(
    s: EscalationState,
    *,
    inbox: list[InboxPair],
    history_limit: int,
    held: dict[str, Any] | None = None,
    holding: str | None = None,
) -> EscalationInput:
    """The next run's input: the same exception, its live state in ``carried``."""
    if s.state is ExceptionState.RESOLVED:  # a resolved run ends, or reopens: never carried
        raise ValueError("only an open exception continues as new")
    state = {name: _own(getattr(s, name)) for name in CARRIED}
    state |= {"timeline": trimmed(s.timeline), "runs": s.runs + 1}
    carried = CarriedState(
        **state,
        inbox=list(inbox),
        headline=s.routing_reason or "",
        held=held,
        holding=holding,
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
        detection=inp.detection,
        policy=inp.policy,
        reopened_from=inp.reopened_from,
        rework_count=inp.rework_count,
        previous_resolved_at=inp.previous_resolved_at,
        **{name: _own(getattr(c, name)) for name in CARRIED},
    )
