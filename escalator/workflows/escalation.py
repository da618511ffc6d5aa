"""EscalationWorkflow: one durable workflow per exception.

record detection → routing decision → playbook (each automated step re-checks
the condition; a cleared condition resolves without paging) → page level 1 →
wait for an acknowledgement until the response-time target → escalate level
by level → when exhausted, do what the policy says. After an acknowledgement:
the time-to-restore and ack-timeout timers. After resolution the run stays
for the rule's reopen window, so a new detection reopens it (continue-as-new,
linked, counted as rework) and a late responder hears "already resolved".

The class holds the sequence and every message handler (their names are part
of recorded histories and of the clients); the work is done by collaborators
that each take the exception's state (`EscalationState`) explicitly:

- `Router` (escalation_routing.py): the routing decision, a silence's hold,
  support hours;
- `run_playbook` (escalation_playbook.py): automated fixes and re-checks;
- `StormGate` (storm_gate.py): storm control and hold-down before the first page;
- `Pager` (escalation_paging.py): pages, escalation, what a passing deadline does;
- `Notifier` (escalation_notify.py): messages and records out of the workflow;
- `Publisher` (escalation_publish.py): search attributes and current details;
- `Continuer` (escalation_continue.py): continue-as-new while open, carrying the
  whole live state (escalation_carry.py), so the new run goes straight back to
  waiting, or to holding under a silence;
- `Detections` (escalation_detections.py): later detections, reopening;
- `Inbox` (escalation_inbox.py): typed events from the handlers to the loop.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.policies.duration import format_duration
    from escalator.workflows import responses as r
    from escalator.workflows.activity_contracts import (
        DetectionOutcome,
        ReportDetection,
        RoutingDecision,
    )
    from escalator.workflows.constants import EARLY_ANSWER, ROUTING_V2
    from escalator.workflows.contracts import (
        ESCALATION_WORKFLOW,
        AcknowledgeInput,
        AddNoteInput,
        ApplyPolicyInput,
        ConditionCleared,
        EscalateNowInput,
        EscalationInput,
        ExceptionState,
        ExceptionStatus,
        OccurredAgain,
        ReassignInput,
        ResolveInput,
        SnoozeInput,
        UpdateResult,
    )
    from escalator.workflows.escalation_carry import resume
    from escalator.workflows.escalation_continue import Continuer
    from escalator.workflows.escalation_detections import (
        Detections,
        clear_condition,
        record_detection,
    )
    from escalator.workflows.escalation_inbox import (
        Acknowledged,
        EscalateNow,
        Inbox,
        InboxEvent,
        NoteAdded,
        PolicyApplied,
        Reassigned,
        Resolved,
        Snoozed,
        StormEscalatedHere,
    )
    from escalator.workflows.escalation_notify import Notifier
    from escalator.workflows.escalation_paging import Pager
    from escalator.workflows.escalation_playbook import run_playbook
    from escalator.workflows.escalation_publish import Publisher
    from escalator.workflows.escalation_routing import Router
    from escalator.workflows.escalation_state import Deadline, EscalationState
    from escalator.workflows.presentation import continued_details
    from escalator.workflows.search_attributes import ALL_KEYS
    from escalator.workflows.storm_contracts import StormEscalated
    from escalator.workflows.storm_gate import StormGate, apply_storm_escalation

__all__ = ["EscalationWorkflow"]

ACKED = ExceptionState.ACKNOWLEDGED


@workflow.defn(name=ESCALATION_WORKFLOW)
class EscalationWorkflow:
    @workflow.init
    def __init__(self, inp: EscalationInput) -> None:
        info = workflow.info()
        carried = inp.carried
        self._inbox = Inbox(carried.inbox if carried is not None else None)
        continued = ""  # static summary and details, for runs that continued as new
        if carried is not None:  # the same exception, exactly where the last run was
            self._s = resume(inp, info.workflow_id)
            continued = continued_details(inp, self._s.runs)
        else:
            self._s = EscalationState.start(inp, info.workflow_id, info.run_id, workflow.now())
            # Recorded here, not in run: detections sent with update-with-start can reach
            # the handlers in this very first task, before run starts, and must come after.
            record_detection(self._s, inp, workflow.now())
            if info.continued_run_id is not None:  # reopened by continue-as-new
                continued = continued_details(inp, None)
        # Search attributes were copied from the last run by continue-as-new: start from them.
        published = {k.name: info.typed_search_attributes.get(k) for k in ALL_KEYS}
        self._publisher = Publisher(published, continued)
        self._notifier = Notifier()
        self._continuer = Continuer(inp.history_limit, self._inbox, self._publisher, self._notifier)
        self._router = Router(self._publisher, self._notifier, self._continuer)
        self._gate = StormGate(self._publisher, self._notifier)
        self._pager = Pager(self._notifier)
        self._detections = Detections(self._inbox, inp.history_limit)

    @workflow.run
    async def run(self, inp: EscalationInput) -> ExceptionStatus:
        s = self._s
        carried = inp.carried
        if carried is None:
            await self._detect_and_route()
        elif carried.held is None:  # detected, routed and paged in an earlier run
            await self._respond_until_resolved()
            await self._after_resolution()
            return s.status()
        else:  # detected in an earlier run, held by a silence since: go on holding
            held = RoutingDecision.model_validate(carried.held)
            await self._router.route_v2(s, held, carried.holding)
        await run_playbook(s)
        if not s.resolved and s.routing_v2:
            await self._router.await_delivery(s)  # outside support hours: until they start
        if not s.resolved:
            early = s.answered_before_page() and workflow.patched(EARLY_ANSWER)
            s.start_level(1, workflow.now(), keep_override=early)
            if early:
                self._take_early_answers()
            if early and s.state is ACKED:  # somebody has it: nobody is paged, the owner told
                await self._pager.tell_owner_acknowledged(s)
            elif s.routing == "page":
                if not await self._gate.first_page_held(s):  # storm control may group it
                    await self._pager.page(s, "first")
            elif s.routing_v2:  # notify: Slack only, slower; ticket: the digest
                # A notification floods Slack in a storm as pages would: the same gate.
                if not (s.routing == "notify" and await self._gate.notify_held(s)):
                    await self._pager.deliver_routed(s)
            else:  # a ticket or a notification: tell the owner once, no response timers
                s.ack_due = None
                await self._pager.page(s, "ticket" if s.routing == "ticket" else "notify")
            await self._respond_until_resolved()
        await self._after_resolution()
        return s.status()

    async def _detect_and_route(self) -> None:
        s = self._s
        self._publisher.publish(s)
        s.routing_v2 = workflow.patched(ROUTING_V2)
        if s.routing_v2:
            await self._router.route_v2(s)
        else:
            await self._router.route_v1(s)

    def _take_early_answers(self) -> None:
        """A reassign or acknowledgement that came before level 1 was paged decides who the
        first message goes to and what it says: it is not paged again from the inbox."""
        self._inbox.drop(Reassigned, Acknowledged)

    async def _respond_until_resolved(self) -> None:
        s = self._s
        while not s.resolved:
            if self._continuer.history_full():
                await self._continuer.continue_open(s)
            await self._wait(s.next_deadline())
            await self._drain_inbox()
            deadline = s.next_deadline()
            if not s.resolved and deadline and workflow.now() >= deadline.due:
                await self._pager.on_deadline(s, deadline)

    def _woken(self) -> bool:
        return bool(self._inbox) or self._s.resolved

    async def _wait(self, deadline: Deadline | None) -> None:
        """Record what happened so far, then sleep until the deadline or until someone acts."""
        self._publisher.publish(self._s)  # first: the UI should not lag behind the records
        await self._notifier.flush(self._s)
        if self._woken():
            return
        if deadline is None:
            await workflow.wait_condition(self._woken)
            return
        timeout = deadline.due - workflow.now()
        if timeout <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):  # the deadline passed: the caller acts on it
            await workflow.wait_condition(
                self._woken, timeout=timeout, timeout_summary=deadline.summary
            )

    async def _drain_inbox(self) -> None:
        s, pager = self._s, self._pager
        while self._inbox and not s.resolved:
            match self._inbox.take():
                case EscalateNow(actor=actor):
                    await pager.escalate(s, f"escalated by {actor}", actor=actor)
                case Reassigned():
                    await pager.page(s, "reassigned")
                case Acknowledged(actor=actor) | Snoozed(actor=actor) as event:
                    pager.stop_steps(s, f"{event.kind} by {actor}", actor)
                    await pager.update_everyone(
                        s, "update", f"tell everyone: {event.kind} by {actor}", event.kind
                    )
        self._inbox.clear()

    async def _after_resolution(self) -> None:
        """Tell everyone, then stay for the reopen window: a detection within it reopens."""
        s = self._s
        self._pager.stop_steps(s, f"resolved by {s.resolved_by}", s.resolved_by)
        if s.notified_roles:
            await self._gate.tell_resolved(s)  # grouped: the storm counts it first
            await self._pager.update_everyone(
                s, "resolved", "tell everyone it is resolved", "resolved"
            )
        assert s.resolved_at is not None
        window = s.policy.rule.reopen_window
        ends = s.resolved_at + window
        while self._detections.reopen is None:
            self._inbox.clear()
            await self._notifier.flush(s)
            self._publisher.publish(s)
            remaining = ends - workflow.now()
            if remaining <= timedelta(0):
                break
            try:
                await workflow.wait_condition(
                    lambda: self._detections.reopen is not None or bool(self._inbox),
                    timeout=remaining,
                    timeout_summary=f"reopen window: {format_duration(window)}",
                )
            except TimeoutError:
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._notifier.settle(s)
        if self._detections.reopen is not None:
            workflow.continue_as_new(self._detections.reopen)

    # --- detections of the same exception ---

    @workflow.update
    def report_detection(self, inp: ReportDetection) -> DetectionOutcome:
        return self._detections.report(self._s, inp)

    # raise_exception's durable path (docs/reliability.md, "When parts are down"): a signal
    # is kept by Temporal without a worker, an update is not. The signal applies the same
    # logic as the update; detection_outcome (read-only) says what it made of it. An update
    # and not a query: the time-skipping server loses a query that meets a reopen's
    # continue-as-new, an update is answered in the same workflow task as the signal.
    @workflow.signal
    def detection_reported(self, inp: ReportDetection) -> None:
        self._detections.report(self._s, inp)

    @workflow.update
    def detection_outcome(self, inp: ReportDetection) -> DetectionOutcome:
        return self._detections.outcome(self._s, inp)

    @workflow.signal
    def occurred_again(self, inp: OccurredAgain) -> None:
        self._detections.occurred_again(self._s, inp)

    @workflow.signal
    def condition_cleared(self, inp: ConditionCleared) -> None:
        clear_condition(self._s, inp, workflow.now())

    @workflow.signal
    def storm_escalated(self, inp: StormEscalated) -> None:
        if apply_storm_escalation(self._s, inp):
            self._inbox.put(StormEscalatedHere())  # wakes the loop: publish and record it

    @workflow.query
    def status(self) -> ExceptionStatus:
        return self._s.status()

    # --- owner responses: validated first (a refusal never reaches history), applied to
    # the state at once, the slow part (messages, records) left to the loop ---

    def _done(self, event: InboxEvent, message: str) -> UpdateResult:
        self._inbox.put(event)
        return UpdateResult(state=self._s.state, message=message)

    @workflow.update
    def acknowledge(self, inp: AcknowledgeInput) -> UpdateResult:
        message = r.apply_acknowledge(self._s, inp, workflow.now())
        return self._done(Acknowledged(inp.actor), message)

    @acknowledge.validator
    def _check_acknowledge(self, inp: AcknowledgeInput) -> None:
        r.refuse(r.refuse_acknowledge(self._s, inp))

    @workflow.update
    def resolve(self, inp: ResolveInput) -> UpdateResult:
        return self._done(Resolved(inp.actor), r.apply_resolve(self._s, inp, workflow.now()))

    @resolve.validator
    def _check_resolve(self, inp: ResolveInput) -> None:
        r.refuse(r.refuse_resolve(self._s, inp))

    @workflow.update
    def reassign(self, inp: ReassignInput) -> UpdateResult:
        return self._done(Reassigned(inp.actor), r.apply_reassign(self._s, inp, workflow.now()))

    @reassign.validator
    def _check_reassign(self, inp: ReassignInput) -> None:
        r.refuse(r.refuse_reassign(self._s, inp))

    @workflow.update
    def snooze(self, inp: SnoozeInput) -> UpdateResult:
        return self._done(Snoozed(inp.actor), r.apply_snooze(self._s, inp, workflow.now()))

    @snooze.validator
    def _check_snooze(self, inp: SnoozeInput) -> None:
        r.refuse(r.refuse_snooze(self._s, inp, workflow.now()))

    @workflow.update
    def escalate_now(self, inp: EscalateNowInput) -> UpdateResult:
        return self._done(EscalateNow(inp.actor), f"escalating now, asked by {inp.actor}")

    @escalate_now.validator
    def _check_escalate_now(self, inp: EscalateNowInput) -> None:
        r.refuse(r.refuse_escalate_now(self._s, inp.actor))

    @workflow.update
    def add_note(self, inp: AddNoteInput) -> UpdateResult:
        return self._done(NoteAdded(inp.actor), r.apply_note(self._s, inp, workflow.now()))

    @add_note.validator
    def _check_add_note(self, inp: AddNoteInput) -> None:
        r.refuse(r.refuse_note(self._s, inp))

    @workflow.update
    def apply_latest_policy(self, inp: ApplyPolicyInput) -> UpdateResult:
        message = r.apply_policy(self._s, inp, workflow.now())
        return self._done(PolicyApplied(inp.actor), message)

    @apply_latest_policy.validator
    def _check_apply_latest_policy(self, inp: ApplyPolicyInput) -> None:
        r.refuse(r.refuse_policy(self._s, inp))
