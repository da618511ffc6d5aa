"""Detections of an exception after the one that started its run.

While the exception is open a detection counts as an occurrence (a retried call
counts once); once it is resolved, a detection reopens it when the run ends
(continue-as-new, linked and counted as rework) or, after the reopen window,
starts it anew. The handlers of `escalator/workflows/escalation.py` call in here.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.workflows import responses as r
    from escalator.workflows.activity_contracts import (
        DetectionOutcome,
        DetectionOutcomeKind,
        ReportDetection,
    )
    from escalator.workflows.constants import (
        OCCURRENCE_ONCE,
        REOPEN_COUNTS_ALL,
        REOPEN_SIGNAL_CARRIES,
    )
    from escalator.workflows.contracts import (
        ConditionCleared,
        Detection,
        EscalationInput,
        OccurredAgain,
        StepKind,
    )
    from escalator.workflows.escalation_inbox import Inbox, Occurred
    from escalator.workflows.escalation_state import EscalationState

__all__ = ["Detections", "clear_condition", "record_detection"]


def record_detection(s: EscalationState, inp: EscalationInput, now: datetime) -> None:
    """The run's first steps: DETECTED, and REOPENED for a reopened exception."""
    rule = inp.policy.rule
    s.record(
        StepKind.DETECTED,
        now,
        role=rule.owner,
        journey=inp.detection.journey,
        rule=inp.detection.rule,
        kind=rule.kind,
        subject=inp.detection.subject,
        severity=rule.severity,
        owner_role=rule.owner,
        policy_version=inp.policy.version,
        onset=inp.detection.onset.isoformat(),
        detected_at=s.detected_at.isoformat(),
        reopened_from=inp.reopened_from,
        rework_count=inp.rework_count,
        occurrences=s.occurrences,  # a reopened run: every detection since the resolution
        attributes=dict(inp.detection.attributes),
        payload=dict(s.payload),  # the latest detection's (a reopen may count several)
    )
    if inp.reopened_from:
        s.record(
            StepKind.REOPENED,
            now,
            reopened_from=inp.reopened_from,
            rework_count=inp.rework_count,
        )


def clear_condition(s: EscalationState, inp: ConditionCleared, now: datetime) -> None:
    """The detector says the condition no longer holds: the exception resolves itself."""
    if s.resolved:
        return
    s.record(
        StepKind.CONDITION_CLEARED,
        now,
        actor="detector",
        level=s.level,
        reason=inp.reason,
        cleared_at=inp.at.isoformat(),
    )
    r.resolve(s, "detector", inp.reason, "condition_cleared", "detector", now)


class Detections:
    def __init__(self, inbox: Inbox, history_limit: int) -> None:
        self._inbox = inbox
        self._history_limit = history_limit
        # The next run's input once a detection came in after the resolution.
        self.reopen: EscalationInput | None = None

    def report(self, s: EscalationState, inp: ReportDetection) -> DetectionOutcome:
        """A detection reported by raise_exception (update, or signal then update)."""
        detection = inp.start.detection
        outcome: DetectionOutcomeKind
        if detection == s.detection:  # the detection that started this run (or a retry of it)
            outcome = "reopened" if s.reopened_from else "new"
        elif s.resolved:
            self._reopen_with(s, inp.start)
            assert self.reopen is not None
            outcome = "reopened" if self.reopen.reopened_from else "new"
        else:
            self._occurred(s, detection)
            outcome = "duplicate"
        return DetectionOutcome(
            exception_id=s.exception_id, outcome=outcome, state=s.state, occurrences=s.occurrences
        )

    def outcome(self, s: EscalationState, inp: ReportDetection) -> DetectionOutcome:
        """What ``report`` made of this detection, without applying it again."""
        outcome: DetectionOutcomeKind
        if inp.start.detection == s.detection:
            outcome = "reopened" if s.reopened_from else "new"
        elif s.resolved and self.reopen is not None:
            outcome = "reopened" if self.reopen.reopened_from else "new"
        else:
            outcome = "duplicate"
        return DetectionOutcome(
            exception_id=s.exception_id, outcome=outcome, state=s.state, occurrences=s.occurrences
        )

    def occurred_again(self, s: EscalationState, inp: OccurredAgain) -> None:
        if not s.resolved:
            self._occurred(s, inp.detection)
        elif workflow.patched(REOPEN_SIGNAL_CARRIES):
            self._reopen_with(
                s,
                EscalationInput(
                    detection=inp.detection,
                    policy=inp.policy or s.policy,  # s.policy: as applied last, not as started
                    history_limit=inp.history_limit or self._history_limit,
                ),
            )
        else:
            self.reopen = self._next_run(
                s, EscalationInput(detection=inp.detection, policy=s.policy)
            )

    def _next_run(self, s: EscalationState, start: EscalationInput) -> EscalationInput:
        assert s.resolved_at is not None
        within = workflow.now() - s.resolved_at <= s.policy.rule.reopen_window
        limit = start.history_limit  # as the detector asked, like the policy
        if not within:
            return EscalationInput(
                detection=start.detection, policy=start.policy, history_limit=limit
            )
        return EscalationInput(
            detection=start.detection,
            policy=start.policy,
            history_limit=limit,
            reopened_from=s.run_id,  # the records run, also after continue-as-new
            rework_count=s.rework_count + 1,
            previous_resolved_at=s.resolved_at,
        )

    def _reopen_with(self, s: EscalationState, start: EscalationInput) -> None:
        """A detection of the resolved exception: it reopens (or starts anew) when this run
        ends. Several can arrive before it does; the next run counts each of them, keeps the
        first one's onset, shows the latest one's payload and runs on the latest policy."""
        pending = self.reopen
        if pending is None or not workflow.patched(REOPEN_COUNTS_ALL):
            self.reopen = self._next_run(s, start)
            return
        if start.detection in (pending.detection, pending.last_detection):
            return  # a retried call, not a new occurrence
        self.reopen = pending.model_copy(
            update={
                "policy": start.policy,
                "history_limit": start.history_limit,
                "occurrences": pending.occurrences + 1,
                "last_detection": start.detection,
            }
        )

    def _occurred(self, s: EscalationState, detection: Detection) -> None:
        if detection == s.last_detection:  # a retried call, not a new occurrence
            return
        if s.seen_before(detection) and workflow.patched(OCCURRENCE_ONCE):
            return  # retried after others came in between: counted already
        s.remember(detection)
        s.last_detection = detection
        s.occurrences += 1
        s.payload = dict(detection.payload)
        s.record(
            StepKind.OCCURRED_AGAIN,
            workflow.now(),
            level=s.level,
            occurrences=s.occurrences,
            onset=detection.onset.isoformat(),
            payload=s.payload,
        )
        self._inbox.put(Occurred())
