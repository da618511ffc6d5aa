"""The routing step of the EscalationWorkflow (patch ``routing-v2``): the Router.

Asks the routing activity what to do, then:

- **suppress**: a silence holds the exception. It is recorded (with the
  silence) and waits; at ``recheck_at`` (the silence's end, or a periodic
  re-check for "until that exception resolves") routing is asked again, so an
  expired silence releases what it held back. Resolving it meanwhile ends it.
- **page**: the escalation policy in full (the caller pages level 1).
- **notify**: Slack only (SMS and voice dropped from every level), and the
  first response target is ``NOTIFY_FACTOR`` times the level's.
- **ticket**: recorded and left for the role's digest; nobody is interrupted.

A decision with ``deliver_at`` (outside support hours) waits on a durable timer
until then, after the playbook (automated fixes need nobody awake).

Histories recorded before the patch replay the old path (always tell the
level-1 role; ticket/notify once, without timers).

Runs recorded under ``routing-local-activity`` (7 Dec 2026) made the decision a
local activity and replay it so; since ``routing-scheduled-again`` new runs schedule
the routing activity as before (a local activity and continue-as-new left queries
unanswered on the test server, 5 in 12 runs). A decision that fails pages.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from escalator.workflows.activity_contracts import ACTIVITY_ROUTE, RoutingDecision, RoutingInput
    from escalator.workflows.constants import (
        QUICK_RETRY,
        ROUTING_LOCAL_ACTIVITY,
        ROUTING_SCHEDULED_AGAIN,
    )
    from escalator.workflows.contracts import StepKind
    from escalator.workflows.escalation_continue import Continuer
    from escalator.workflows.escalation_notify import Notifier
    from escalator.workflows.escalation_publish import Publisher
    from escalator.workflows.escalation_state import EscalationState

__all__ = ["Router"]

ROUTING_TIMEOUT = timedelta(seconds=30)


def _paging_instead(err: FailureError) -> RoutingDecision:
    """Better a page too many than an exception nobody sees."""
    return RoutingDecision(action="page", reason=f"routing failed ({err.cause or err}); paging")


def _record_decision(s: EscalationState, d: RoutingDecision) -> None:
    s.routing = d.action
    s.routing_reason = d.headline or f"{d.action}: {d.reason}"  # the headline shown
    s.record(
        StepKind.ROUTED,
        workflow.now(),
        role=s.policy.rule.owner,
        decision=d.action,
        reason=d.reason,
        headline=d.headline,
        deliver_at=d.deliver_at.isoformat() if d.deliver_at else None,
        silence=d.silence_id,
        recheck_at=d.recheck_at.isoformat() if d.recheck_at else None,
        inputs=d.inputs,
    )


class Router:
    def __init__(self, publisher: Publisher, notifier: Notifier, continuer: Continuer) -> None:
        self._publisher = publisher
        self._notifier = notifier
        self._continuer = continuer
        self._decision: RoutingDecision | None = None  # this run's, once routed

    async def route_v1(self, s: EscalationState) -> None:
        """Histories before routing-v2: page, notify or ticket, decided once."""
        try:
            decision = await workflow.execute_activity(
                ACTIVITY_ROUTE,
                RoutingInput(exception_id=s.exception_id, detection=s.detection, policy=s.policy),
                result_type=RoutingDecision,
                start_to_close_timeout=ROUTING_TIMEOUT,
                retry_policy=QUICK_RETRY,
                summary="routing decision: page, notify or ticket",
            )
        except ActivityError as err:
            decision = _paging_instead(err)
        s.routing = decision.action
        s.record(StepKind.ROUTED, workflow.now(), decision=decision.action, reason=decision.reason)

    async def _decide(self, s: EscalationState) -> RoutingDecision:
        inp = RoutingInput(
            exception_id=s.exception_id, detection=s.detection, policy=s.policy, at=workflow.now()
        )
        summary = "routing decision: page, notify, ticket or suppress"
        try:
            # Checked first so that new runs record only this marker; a run recorded with
            # the local activity has no such marker and replays the branch below.
            if not workflow.patched(ROUTING_SCHEDULED_AGAIN) and workflow.patched(
                ROUTING_LOCAL_ACTIVITY
            ):
                return await workflow.execute_local_activity(
                    ACTIVITY_ROUTE,
                    inp,
                    result_type=RoutingDecision,
                    start_to_close_timeout=ROUTING_TIMEOUT,
                    retry_policy=QUICK_RETRY,
                    summary=summary,
                )
            return await workflow.execute_activity(
                ACTIVITY_ROUTE,
                inp,
                result_type=RoutingDecision,
                start_to_close_timeout=ROUTING_TIMEOUT,
                retry_policy=QUICK_RETRY,
                summary=summary,
            )
        # A local activity that failed raises its failure itself (an ApplicationError or a
        # TimeoutError, temporalio 1.35), not an ActivityError around it: catch them all.
        except FailureError as err:
            return _paging_instead(err)

    async def route_v2(
        self, s: EscalationState, held: RoutingDecision | None = None, holding: str | None = None
    ) -> None:
        """Decide; while a silence holds the exception, wait and ask again.

        A silence can hold it for weeks (or until another exception resolves), re-checked
        every few minutes: the run continues as new meanwhile, and the next one comes back
        here with the decision that ``held`` it and the silence already recorded.
        """
        decision = held or await self._decide(s)
        while decision.action == "suppress" and not s.resolved:
            if decision.silence_id != holding:  # re-checks under the same silence add no step
                holding = decision.silence_id
                _record_decision(s, decision)
                self._publisher.publish(s)
                await self._notifier.flush(s)
            if self._continuer.history_full():
                await self._continuer.continue_open(s, decision.model_dump(mode="json"), holding)
            recheck = decision.recheck_at or workflow.now() + timedelta(minutes=5)
            wait = max(recheck - workflow.now(), timedelta(seconds=1))
            try:
                await workflow.wait_condition(
                    lambda: s.resolved,
                    timeout=wait,
                    timeout_summary=f"held by silence {decision.silence_id}",
                )
            except TimeoutError:
                decision = await self._decide(s)
        if not s.resolved:
            _record_decision(s, decision)
        self._decision = decision

    async def await_delivery(self, s: EscalationState) -> None:
        """Outside support hours: a durable timer until they start (resolution ends it)."""
        decision = self._decision
        if decision is None or decision.deliver_at is None or s.resolved:
            return
        wait = decision.deliver_at - workflow.now()
        if wait <= timedelta(0):
            return
        self._publisher.publish(s)
        await self._notifier.flush(s)
        try:
            await workflow.wait_condition(
                lambda: s.resolved,
                timeout=wait,
                timeout_summary=f"{decision.action} waits for support hours",
            )
        except TimeoutError:
            s.record(StepKind.NOTE, workflow.now(), note="support hours started: delivering")
