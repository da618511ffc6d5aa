"""EscalationWorkflow: one durable workflow per exception.

record detection → routing decision → playbook (each automated step re-checks
the condition; a cleared condition resolves without paging) → page level 1 →
wait for an acknowledgement until the response-time target → escalate level
by level → when exhausted, do what the policy says. After an acknowledgement:
the time-to-restore and ack-timeout timers. After resolution the run stays
for the rule's reopen window, so a new detection reopens it (continue-as-new,
linked, counted as rework) and a late responder hears "already resolved".

An exception that stays open long enough to fill its history (Temporal's
suggestion, or ``history_limit`` events) continues as new while open
(`escalator/workflows/escalation_continue.py`), carrying its whole live state
(`escalator/workflows/escalation_carry.py`); the new run goes straight back to waiting,
or to holding under a silence.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalator.policies.duration import format_duration
    from escalator.workflows import responses as r
    from escalator.workflows.activity_contracts import (
        ACTIVITY_PLAYBOOK_ACTION,
        ACTIVITY_RECHECK,
        ACTIVITY_ROUTE,
        ActionResult,
        PlaybookActionInput,
        RecheckInput,
        RecheckResult,
        RoutingDecision,
        RoutingInput,
    )
    from escalator.workflows.contracts import (
        ESCALATION_WORKFLOW,
        CarriedState,
        EscalationInput,
        ExceptionState,
        ExceptionStatus,
        StepKind,
    )
    from escalator.workflows.escalation_carry import resume
    from escalator.workflows.escalation_handlers import EscalationHandlers
    from escalator.workflows.escalation_routing import ROUTING_V2, EscalationRouting
    from escalator.workflows.escalation_state import Deadline, EscalationState
    from escalator.workflows.presentation import continued_details
    from escalator.workflows.search_attributes import ALL_KEYS
    from escalator.workflows.storm_gate import StormGate
    from escalator.workflows.targets import member_targets, update_targets

__all__ = ["EscalationWorkflow"]

QUICK_RETRY = RetryPolicy(maximum_attempts=3)
# workflow.patched id: a reassign or an acknowledgement before the first page is honoured
# by it (the reassigned role gets the first page; an acknowledged exception pages nobody).
EARLY_ANSWER = "early-answer"
OPEN, ACKED = ExceptionState.OPEN, ExceptionState.ACKNOWLEDGED


@workflow.defn(name=ESCALATION_WORKFLOW)
class EscalationWorkflow(EscalationRouting, StormGate, EscalationHandlers):
    _continued: str = ""  # static summary and details, for runs that continued as new

    @workflow.init
    def __init__(self, inp: EscalationInput) -> None:
        info = workflow.info()
        self._inbox = []
        self._reopen = None
        self._history_limit = inp.history_limit
        # Search attributes were copied from the last run by continue-as-new: start from them.
        self._published = {k.name: info.typed_search_attributes.get(k) for k in ALL_KEYS}
        if inp.carried is not None:
            self._resume(inp, inp.carried)
            return
        self._s = EscalationState.start(inp, info.workflow_id, info.run_id, workflow.now())
        # Recorded here, not in run: detections sent with update-with-start can reach the
        # handlers in this very first task, before run starts, and must come after it.
        self._record_detection(inp)
        if info.continued_run_id is not None:  # reopened by continue-as-new: no static summary
            self._continued = continued_details(inp, None)

    def _resume(self, inp: EscalationInput, carried: CarriedState) -> None:
        """A run that continued as new: the same exception, exactly where the last run was."""
        self._s = resume(inp, workflow.info().workflow_id)
        self._inbox = list(carried.inbox)
        self._routing_v2 = carried.routing_v2
        self._headline = carried.headline
        self._storm_id = carried.storm_id
        # Continue-as-new cannot set a static summary or details (temporalio 1.35), so
        # the current details carry them in every run after the first (see _publish).
        self._continued = continued_details(inp, carried.runs)

    @workflow.run
    async def run(self, inp: EscalationInput) -> ExceptionStatus:
        s = self._s
        carried = inp.carried
        if carried is None:
            await self._detect_and_route(inp)
        elif carried.held is None:  # detected, routed and paged in an earlier run
            await self._respond_until_resolved()
            await self._after_resolution()
            return s.status()
        else:  # detected in an earlier run, held by a silence since: go on holding
            await self._route_v2(RoutingDecision.model_validate(carried.held), carried.holding)
        await self._playbook()
        if not s.resolved and self._routing_v2:
            await self._await_delivery()  # outside support hours: until they start
        if not s.resolved:
            early = s.answered_before_page() and workflow.patched(EARLY_ANSWER)
            s.start_level(1, workflow.now(), keep_override=early)
            if early:
                self._take_early_answers()
            if early and s.state is ACKED:  # somebody has it: nobody is paged, the owner told
                await self._tell_owner_acknowledged()
            elif s.routing == "page":
                await self._first_page()  # storm control may group it instead
            elif self._routing_v2:  # notify: Slack only, slower; ticket: the digest
                # A notification floods Slack in a storm as pages would: the same gate.
                if not (s.routing == "notify" and await self._notify_gated()):
                    await self._deliver_routed()
            else:  # a ticket or a notification: tell the owner once, no response timers
                s.ack_due = None
                await self._page("ticket" if s.routing == "ticket" else "notify")
            await self._respond_until_resolved()
        await self._after_resolution()
        return s.status()

    def _record_detection(self, inp: EscalationInput) -> None:
        s = self._s
        rule = inp.policy.rule
        s.record(
            StepKind.DETECTED,
            workflow.now(),
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
                workflow.now(),
                reopened_from=inp.reopened_from,
                rework_count=inp.rework_count,
            )

    async def _detect_and_route(self, inp: EscalationInput) -> None:
        self._publish()
        self._routing_v2 = workflow.patched(ROUTING_V2)
        if self._routing_v2:
            await self._route_v2()
        else:
            await self._route()

    async def _route(self) -> None:
        s = self._s
        try:
            decision = await workflow.execute_activity(
                ACTIVITY_ROUTE,
                RoutingInput(exception_id=s.exception_id, detection=s.detection, policy=s.policy),
                result_type=RoutingDecision,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=QUICK_RETRY,
                summary="routing decision: page, notify or ticket",
            )
        except ActivityError as err:  # better a page too many than an exception nobody sees
            decision = RoutingDecision(
                action="page", reason=f"routing failed ({err.cause}); paging"
            )
        s.routing = decision.action
        s.record(StepKind.ROUTED, workflow.now(), decision=decision.action, reason=decision.reason)

    async def _playbook(self) -> None:
        s = self._s
        playbook = s.policy.playbook
        for step in playbook.steps if playbook else []:
            if s.resolved:
                return
            if step.type == "manual":
                s.record(
                    StepKind.PLAYBOOK_STEP,
                    workflow.now(),
                    step=step.name,
                    type="manual",
                    runbook=step.runbook,
                )
                continue
            try:
                result = await workflow.execute_activity(
                    ACTIVITY_PLAYBOOK_ACTION,
                    PlaybookActionInput(
                        exception_id=s.exception_id, detection=s.detection, step=step
                    ),
                    result_type=ActionResult,
                    start_to_close_timeout=step.timeout,
                    retry_policy=QUICK_RETRY,
                    summary=f"playbook: {step.name} ({step.action})",
                )
            except ActivityError as err:
                result = ActionResult(ok=False, detail=str(err.cause or err))
            s.record(
                StepKind.PLAYBOOK_STEP,
                workflow.now(),
                step=step.name,
                type="automated",
                action=step.action,
                ok=result.ok,
                result=result.detail,
            )
            if step.recheck and not s.resolved and await self._cleared_after(step.name):
                return

    async def _cleared_after(self, step: str) -> bool:
        s = self._s
        try:
            check = await workflow.execute_activity(
                ACTIVITY_RECHECK,
                RecheckInput(exception_id=s.exception_id, detection=s.detection, after_step=step),
                result_type=RecheckResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=QUICK_RETRY,
                summary=f"re-check the condition after {step}",
            )
        except ActivityError as err:
            check = RecheckResult(cleared=False, detail=f"re-check failed: {err.cause or err}")
        if not check.cleared or s.resolved:
            return False
        now, actor = workflow.now(), f"playbook:{step}"
        s.record(StepKind.CONDITION_CLEARED, now, actor=actor, detail=check.detail)
        r.resolve(s, actor, f"condition cleared after {step}", "auto_resolved", "playbook", now)
        return True

    def _take_early_answers(self) -> None:
        """A reassign or acknowledgement that came before level 1 was paged decides who the
        first message goes to and what it says: it is not paged again from the inbox."""
        self._inbox = [e for e in self._inbox if e[0] not in ("reassigned", "acknowledged")]

    async def _tell_owner_acknowledged(self) -> None:
        """Acknowledged before any page (by an incident lead): paging would wake someone for
        an exception already taken. The owning role hears it once, on its update channel;
        the time-to-restore and ack-timeout timers run as after any acknowledgement."""
        s = self._s
        if s.routing == "ticket":  # the role's digest lists it; nobody is interrupted
            return
        role = s.owner_role
        s.add_notified(role)
        await self._notify(
            [(t, "informed") for t in update_targets(s.policy, [role])],
            [],
            f"tell {role}: acknowledged by {s.acknowledged_by} before any page",
        )

    async def _respond_until_resolved(self) -> None:
        s = self._s
        while not s.resolved:
            if self._history_full():
                await self._continue_open()
            await self._wait(s.next_deadline())
            await self._drain_inbox()
            deadline = s.next_deadline()
            if not s.resolved and deadline and workflow.now() >= deadline.due:
                await self._on_deadline(deadline)

    def _publish(self) -> None:
        super()._publish()
        if self._continued:
            details = workflow.get_current_details()
            workflow.set_current_details(f"{details}\n\n---\n{self._continued}")

    async def _drain_inbox(self) -> None:
        while self._inbox and not self._s.resolved:
            event, actor = self._inbox.pop(0)
            if event == "escalate_now":
                await self._escalate(f"escalated by {actor}", actor=actor)
            elif event == "reassigned":
                await self._page("reassigned")
            elif event in ("acknowledged", "snoozed"):
                await self._update_everyone("update", f"tell everyone: {event} by {actor}")
        self._inbox.clear()

    async def _on_deadline(self, deadline: Deadline) -> None:
        s = self._s
        now = workflow.now()
        if deadline.kind == "ack":
            await self._escalate("no acknowledgement within the response time")
        elif deadline.kind == "snooze":
            s.state = s.snoozed_from or OPEN
            s.snoozed_until = s.snoozed_from = None
            s.record(StepKind.NOTE, now, actor=s.snoozed_by, level=s.level, note="snooze ended")
            if s.state is OPEN:
                s.restart_ack_window(now)
                await self._page("reminder")
            else:
                s.last_progress_at = now
        elif deadline.kind == "ack_timeout":
            idle = now - (s.last_progress_at or now)
            s.record(
                StepKind.ACK_REVERTED,
                now,
                actor=s.acknowledged_by,
                level=s.level,
                role=s.owner_role,
                idle_s=idle.total_seconds(),
            )
            s.state = OPEN
            s.acknowledged_by = s.acknowledged_at = s.last_progress_at = None
            s.restore_due = None
            s.restart_ack_window(now)
            await self._page("reverted")
        elif deadline.kind == "restore":
            who = s.acknowledged_by or ""
            s.record(
                StepKind.RESTORE_BREACHED,
                now,
                actor=who,
                level=s.level,
                role=s.owner_role,
                since_ack_s=(now - (s.acknowledged_at or now)).total_seconds(),
            )
            reminders = member_targets(s.policy, who, s.current_level.channels)
            await self._escalate(
                "time to restore passed", also=[(t, "reminder") for t in reminders]
            )

    async def _after_resolution(self) -> None:
        """Tell everyone, then stay for the reopen window: a detection within it reopens."""
        s = self._s
        if s.notified_roles:
            await self._update_everyone("resolved", "tell everyone it is resolved")
        assert s.resolved_at is not None
        window = s.policy.rule.reopen_window
        ends = s.resolved_at + window
        while self._reopen is None:
            self._inbox.clear()
            await self._flush()
            self._publish()
            remaining = ends - workflow.now()
            if remaining <= timedelta(0):
                break
            try:
                await workflow.wait_condition(
                    lambda: self._reopen is not None or bool(self._inbox),
                    timeout=remaining,
                    timeout_summary=f"reopen window: {format_duration(window)}",
                )
            except TimeoutError:
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._settle()
        if self._reopen is not None:
            workflow.continue_as_new(self._reopen)
