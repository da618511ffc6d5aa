"""The gate before an exception's first page: storm control and hold-down.

A collaborator of the EscalationWorkflow, asked only when the escalation policy
sets ``storm``, behind ``workflow.patched("storm-gate")`` so recorded histories
replay unchanged.

- Hold-down: an exception reopened within ``hold_down`` of its resolution is
  flapping. It is recorded (HELD_DOWN) and pages nobody; if it is still open
  when the hold-down ends, it pages then.
- Storm: the rule's StormWorkflow answers "page" or "grouped". A grouped
  exception is recorded (GROUPED), its role is told by the storm's one
  message, it sets no response timer of its own and sends no individual
  updates (`escalator/workflows/escalation_notify.py` drops them); it stays its
  own workflow, acknowledgeable and resolvable, and tells the storm when it is
  resolved.

Notify-routed exceptions pass the same gate before their one Slack message
(``workflow.patched("storm-notify")``) and tell the storm how they were routed,
so a storm of notifications stays on quiet channels (escalator/workflows/storm_escalation.py).
Ticket-routed ones interrupt nobody and never ask.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalator.policies.duration import format_duration
    from escalator.policies.storm import StormControl
    from escalator.workflows.constants import GATE_RETRY, STORM_GATE
    from escalator.workflows.contracts import ExceptionState, StepKind
    from escalator.workflows.escalation_notify import Notifier
    from escalator.workflows.escalation_publish import Publisher
    from escalator.workflows.escalation_state import EscalationState
    from escalator.workflows.storm_contracts import (
        ACTIVITY_STORM_GATE,
        STORM_NOTIFY,
        StormEscalated,
        StormGateInput,
        StormInput,
        StormMember,
        StormMemberClosed,
        StormVerdict,
        storm_id,
    )

__all__ = ["StormGate", "apply_storm_escalation"]

# In a storm of thousands the gate waits its turn (Temporal admits 10 updates in flight per
# workflow; escalator/activities/storm.py asks a few at a time per worker), which took longer than
# the former 30 s start-to-close on a loaded worker: attempts timed out while queued, and
# after five of them the exception paged alone. So the gate may wait minutes, and a crashed
# worker's gate is still retried within the heartbeat timeout. Activity options are not
# part of replay's command matching: recorded histories replay unchanged.
GATE_TIMEOUT = timedelta(minutes=5)
GATE_HEARTBEAT = timedelta(seconds=10)


class StormGate:
    def __init__(self, publisher: Publisher, notifier: Notifier) -> None:
        self._publisher = publisher
        self._notifier = notifier

    async def first_page_held(self, s: EscalationState) -> bool:
        """True when storm control held down or grouped the first page (it is not sent)."""
        storm = s.policy.escalation.storm
        if storm is None or not workflow.patched(STORM_GATE):
            return False
        return await self._gated(s, storm)

    async def notify_held(self, s: EscalationState) -> bool:
        """A notify-routed exception, before its one Slack message: True when storm control
        held it down or grouped it (it sends nothing now).

        500 notifications are as much a flood as 500 pages, and a storm usually starts
        before the error budget burns, so its exceptions are routed notify. Only policies
        with storm control ask, so histories without it never meet the patch marker.
        """
        storm = s.policy.escalation.storm
        if storm is None or not workflow.patched(STORM_NOTIFY):
            return False
        return await self._gated(s, storm)

    async def _gated(self, s: EscalationState, storm: StormControl) -> bool:
        """True when this exception sends no individual first message now."""
        if await self._held_down(s, storm):
            return True
        verdict = await self._ask_storm(s)
        if verdict.action != "grouped":
            return False
        s.storm_id = verdict.storm_id
        s.ack_due = None  # the storm's message is the page; no timer per subject
        s.add_notified(s.owner_role)  # so the role's members may respond
        s.record(
            StepKind.GROUPED,
            workflow.now(),
            level=s.level,
            role=s.owner_role,
            storm_id=verdict.storm_id,
            grouped=verdict.grouped,
            reason=verdict.reason,
        )
        return True

    async def _held_down(self, s: EscalationState, storm: StormControl) -> bool:
        """True when the exception needs no page now (resolved, or answered, meanwhile)."""
        before = s.previous_resolved_at  # when the run this one reopens was resolved
        if storm.hold_down is None or not s.reopened_from or before is None:
            return False
        now = workflow.now()
        ends = before + storm.hold_down
        if now >= ends:
            return False
        s.record(
            StepKind.HELD_DOWN,
            now,
            level=s.level,
            role=s.owner_role,
            until=ends.isoformat(),
            reason=f"reopened {format_duration(now - before)} after its resolution, within "
            f"the hold-down of {format_duration(storm.hold_down)}: not paged",
        )
        self._publisher.publish(s)
        await self._notifier.flush(s)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: s.resolved,
                timeout=ends - now,
                timeout_summary=f"hold-down: {format_duration(storm.hold_down)}",
            )
        if s.resolved or s.state is not ExceptionState.OPEN:
            return True
        s.restart_ack_window(workflow.now())
        return False

    async def _ask_storm(self, s: EscalationState) -> StormVerdict:
        role = s.owner_role
        member = StormMember(
            exception_id=s.exception_id,
            subject=s.detection.subject,
            onset=s.detection.onset,
            detected_at=s.detected_at,
            # The storm pages no louder than its members were routed.
            routing="notify" if s.routing == "notify" else "page",
        )
        storm = StormInput(
            journey=s.detection.journey, rule=s.detection.rule, role=role, policy=s.policy
        )
        try:
            return await workflow.execute_activity(
                ACTIVITY_STORM_GATE,
                StormGateInput(storm=storm, member=member),
                result_type=StormVerdict,
                start_to_close_timeout=GATE_TIMEOUT,
                heartbeat_timeout=GATE_HEARTBEAT,
                retry_policy=GATE_RETRY,
                summary=f"storm control: page {role} or group?",
            )
        except ActivityError as err:  # better a page too many than an exception nobody sees
            return StormVerdict(
                action="page",
                storm_id=storm_id(storm.journey, storm.rule, role),
                reason=f"storm gate failed ({err.cause or err}); paging",
            )

    async def tell_resolved(self, s: EscalationState) -> None:
        """A grouped exception was resolved: the storm counts it (its message shows it)."""
        if s.storm_id is None:
            return
        try:
            await workflow.get_external_workflow_handle(s.storm_id).signal(
                "member_closed",
                StormMemberClosed(exception_id=s.exception_id, at=workflow.now()),
            )
        except Exception:  # the storm is over: nobody to tell, nothing lost
            workflow.logger.info("storm %s is over; resolution not counted there", s.storm_id)


def apply_storm_escalation(s: EscalationState, inp: StormEscalated) -> bool:
    """The storm this exception joined escalated: recorded here as if it escalated alone,
    so its own timeline, records, level and search attributes show it, and the role told
    now may answer it (its validators only let notified roles respond). True when a step
    was recorded (the loop then publishes and records it)."""
    if s.resolved or s.storm_id != inp.storm_id:
        return False
    s.add_notified(inp.role)
    if s.state is not ExceptionState.OPEN:
        return False  # acknowledged or snoozed: someone has it; told, not escalated
    now = workflow.now()
    if inp.exhausted:
        s.exhausted = inp.on_exhausted != "repeat"
        s.record(
            StepKind.EXHAUSTED,
            now,
            level=s.level,
            role=s.owner_role,
            on_exhausted=inp.on_exhausted,
            cause=inp.cause,
            round=inp.round,
            storm_id=inp.storm_id,
        )
    if not inp.exhausted or inp.on_exhausted == "repeat":
        previous = s.owner_role
        # The storm runs on the policy of its first exception; a member on another
        # version keeps its own levels and takes the storm's role as an override.
        s.level, s.round, s.level_started_at = min(inp.level, len(s.levels)), inp.round, now
        s.role_override = None if s.current_level.role == inp.role else inp.role
        s.record(
            StepKind.ESCALATED,
            now,
            level=inp.level,
            role=inp.role,
            cause=inp.cause,
            previous_role=previous,
            round=inp.round,
            storm_id=inp.storm_id,
        )
    return True
