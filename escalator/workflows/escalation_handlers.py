"""How the EscalationWorkflow hears from the world: detections, owner responses, the query.

Update handlers validate first (the validators raise a human-readable reason,
so a refused request never reaches history), then change the state and leave
an event in the inbox; the workflow's main loop does the slow part (pages,
records) after the handler has answered.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from escalator.workflows import responses as r
    from escalator.workflows.activity_contracts import DetectionOutcome, ReportDetection
    from escalator.workflows.contracts import (
        AcknowledgeInput,
        AddNoteInput,
        ApplyPolicyInput,
        ConditionCleared,
        Detection,
        EscalateNowInput,
        EscalationInput,
        ExceptionState,
        ExceptionStatus,
        OccurredAgain,
        ReassignInput,
        ResolveInput,
        SnoozeInput,
        StepKind,
        UpdateResult,
    )
    from escalator.workflows.escalation_steps import EscalationSteps

__all__ = ["EscalationHandlers"]


def _refuse(reason: str | None) -> None:
    """Reject the update before it is written to history; clients read ``cause.message``."""
    if reason:
        raise ApplicationError(reason, type="Refused", non_retryable=True)


# workflow.patched ids. reopen-counts-all: detections arriving after the resolution, before
# the run ends, all count in the reopened run (the first keeps its onset); the last one no
# longer replaces the others. reopen-signal-carries: the occurred_again signal reopens
# with the policy and history limit it carries, else the run's own (not the defaults).
REOPEN_COUNTS_ALL = "reopen-counts-all"
REOPEN_SIGNAL_CARRIES = "reopen-signal-carries"
# occurrence-once: a detection counts once, also when its retried call is not the latest.
OCCURRENCE_ONCE = "occurrence-once"


class EscalationHandlers(EscalationSteps):
    _history_limit: int

    # --- detections of the same exception ---

    def _next_run(self, start: EscalationInput) -> EscalationInput:
        s = self._s
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

    def _reopen_with(self, start: EscalationInput) -> None:
        """A detection of the resolved exception: it reopens (or starts anew) when this run
        ends. Several can arrive before it does; the next run counts each of them, keeps the
        first one's onset, shows the latest one's payload and runs on the latest policy."""
        pending = self._reopen
        if pending is None or not workflow.patched(REOPEN_COUNTS_ALL):
            self._reopen = self._next_run(start)
            return
        if start.detection in (pending.detection, pending.last_detection):
            return  # a retried call, not a new occurrence
        self._reopen = pending.model_copy(
            update={
                "policy": start.policy,
                "history_limit": start.history_limit,
                "occurrences": pending.occurrences + 1,
                "last_detection": start.detection,
            }
        )

    def _occurred(self, detection: Detection) -> None:
        s = self._s
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
        self._inbox.append(("occurred", None))

    @workflow.update
    def report_detection(self, inp: ReportDetection) -> DetectionOutcome:
        s = self._s
        detection = inp.start.detection
        if detection == s.detection:  # the detection that started this run (or a retry of it)
            outcome = "reopened" if s.reopened_from else "new"
        elif s.resolved:
            self._reopen_with(inp.start)
            assert self._reopen is not None
            outcome = "reopened" if self._reopen.reopened_from else "new"
        else:
            self._occurred(detection)
            outcome = "duplicate"
        return DetectionOutcome(
            exception_id=s.exception_id, outcome=outcome, state=s.state, occurrences=s.occurrences
        )

    # raise_exception's durable path (docs/reliability.md, "When parts are down"): a signal
    # is kept by Temporal without a worker, an update is not. The signal applies the same
    # logic as the update; detection_outcome (read-only) says what it made of it. An update
    # and not a query: the time-skipping server loses a query that meets a reopen's
    # continue-as-new, an update is answered in the same workflow task as the signal.
    @workflow.signal
    def detection_reported(self, inp: ReportDetection) -> None:
        EscalationHandlers.report_detection(self, inp)

    @workflow.update
    def detection_outcome(self, inp: ReportDetection) -> DetectionOutcome:
        s = self._s
        if inp.start.detection == s.detection:
            outcome = "reopened" if s.reopened_from else "new"
        elif s.resolved and self._reopen is not None:
            outcome = "reopened" if self._reopen.reopened_from else "new"
        else:
            outcome = "duplicate"
        return DetectionOutcome(
            exception_id=s.exception_id, outcome=outcome, state=s.state, occurrences=s.occurrences
        )

    @workflow.signal
    def occurred_again(self, inp: OccurredAgain) -> None:
        s = self._s
        if not s.resolved:
            self._occurred(inp.detection)
        elif workflow.patched(REOPEN_SIGNAL_CARRIES):
            self._reopen_with(
                EscalationInput(
                    detection=inp.detection,
                    policy=inp.policy or s.policy,  # s.policy: as applied last, not as started
                    history_limit=inp.history_limit or self._history_limit,
                )
            )
        else:
            self._reopen = self._next_run(EscalationInput(detection=inp.detection, policy=s.policy))

    @workflow.signal
    def condition_cleared(self, inp: ConditionCleared) -> None:
        s = self._s
        if s.resolved:
            return
        now = workflow.now()
        s.record(
            StepKind.CONDITION_CLEARED,
            now,
            actor="detector",
            level=s.level,
            reason=inp.reason,
            cleared_at=inp.at.isoformat(),
        )
        r.resolve(s, "detector", inp.reason, "condition_cleared", "detector", now)

    @workflow.query
    def status(self) -> ExceptionStatus:
        return self._s.status()

    # --- owner responses ---

    def _done(self, event: str, actor: str | None, message: str) -> UpdateResult:
        self._inbox.append((event, actor))
        return UpdateResult(state=self._s.state, message=message)

    @workflow.update
    def acknowledge(self, inp: AcknowledgeInput) -> UpdateResult:
        return self._done(
            "acknowledged", inp.actor, r.apply_acknowledge(self._s, inp, workflow.now())
        )

    @acknowledge.validator
    def _check_acknowledge(self, inp: AcknowledgeInput) -> None:
        _refuse(r.refuse_acknowledge(self._s, inp))

    @workflow.update
    def resolve(self, inp: ResolveInput) -> UpdateResult:
        return self._done("resolved", inp.actor, r.apply_resolve(self._s, inp, workflow.now()))

    @resolve.validator
    def _check_resolve(self, inp: ResolveInput) -> None:
        _refuse(r.refuse_resolve(self._s, inp))

    @workflow.update
    def reassign(self, inp: ReassignInput) -> UpdateResult:
        return self._done("reassigned", inp.actor, r.apply_reassign(self._s, inp, workflow.now()))

    @reassign.validator
    def _check_reassign(self, inp: ReassignInput) -> None:
        _refuse(r.refuse_reassign(self._s, inp))

    @workflow.update
    def snooze(self, inp: SnoozeInput) -> UpdateResult:
        return self._done("snoozed", inp.actor, r.apply_snooze(self._s, inp, workflow.now()))

    @snooze.validator
    def _check_snooze(self, inp: SnoozeInput) -> None:
        _refuse(r.refuse_snooze(self._s, inp, workflow.now()))

    @workflow.update
    def escalate_now(self, inp: EscalateNowInput) -> UpdateResult:
        return self._done("escalate_now", inp.actor, f"escalating now, asked by {inp.actor}")

    @escalate_now.validator
    def _check_escalate_now(self, inp: EscalateNowInput) -> None:
        _refuse(r.refuse_escalate_now(self._s, inp.actor))

    @workflow.update
    def add_note(self, inp: AddNoteInput) -> UpdateResult:
        s = self._s
        now = workflow.now()
        if s.state is ExceptionState.ACKNOWLEDGED:
            s.last_progress_at = now  # a note is progress: it holds off the ack timeout
        s.record(StepKind.NOTE, now, actor=inp.actor, level=s.level, note=inp.note, via=inp.via)
        return self._done("note", inp.actor, "note added")

    @add_note.validator
    def _check_add_note(self, inp: AddNoteInput) -> None:
        _refuse(r.refuse_note(self._s, inp))

    @workflow.update
    def apply_latest_policy(self, inp: ApplyPolicyInput) -> UpdateResult:
        return self._done("policy", inp.actor, r.apply_policy(self._s, inp, workflow.now()))

    @apply_latest_policy.validator
    def _check_apply_latest_policy(self, inp: ApplyPolicyInput) -> None:
        _refuse(r.refuse_policy(self._s, inp))
