"""The routing step of the EscalationWorkflow (patch ``routing-v2``).

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
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalator.policies.roles import Channel
    from escalator.workflows.activity_contracts import ACTIVITY_ROUTE, RoutingDecision, RoutingInput
    from escalator.workflows.contracts import StepKind
    from escalator.workflows.escalation_continue import EscalationContinue

__all__ = ["NOTIFY_FACTOR", "QUIET_CHANNELS", "ROUTING_V2", "EscalationRouting", "quiet_channels"]

ROUTING_V2 = "routing-v2"
NOTIFY_FACTOR = 4  # a notification expects an answer four times slower than a page
QUIET_CHANNELS: frozenset[str] = frozenset({"slack", "slack_dm", "console"})


def quiet_channels(channels: list[Channel]) -> list[Channel]:
    """A level's channels for a notification (a notify-routed exception, or a storm of
    them): SMS and voice dropped; a level with neither Slack nor console posts to Slack."""
    quiet = [c for c in channels if c in QUIET_CHANNELS]
    return quiet or ["slack"]


class EscalationRouting(EscalationContinue):
    _routing_v2: bool = False
    _headline: str = ""
    _decision: RoutingDecision | None = None

    async def _decide(self) -> RoutingDecision:
        s = self._s
        try:
            return await workflow.execute_activity(
                ACTIVITY_ROUTE,
                RoutingInput(
                    exception_id=s.exception_id,
                    detection=s.detection,
                    policy=s.policy,
                    at=workflow.now(),
                ),
                result_type=RoutingDecision,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary="routing decision: page, notify, ticket or suppress",
            )
        except ActivityError as err:  # better a page too many than an exception nobody sees
            return RoutingDecision(action="page", reason=f"routing failed ({err.cause}); paging")

    def _record_decision(self, d: RoutingDecision) -> None:
        s = self._s
        s.routing = d.action
        self._headline = d.headline or f"{d.action}: {d.reason}"
        s.routing_reason = self._headline
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

    async def _route_v2(
        self, held: RoutingDecision | None = None, holding: str | None = None
    ) -> None:
        """Decide; while a silence holds the exception, wait and ask again.

        A silence can hold it for weeks (or until another exception resolves), re-checked
        every few minutes: the run continues as new meanwhile, and the next one comes back
        here with the decision that ``held`` it and the silence already recorded.
        """
        s = self._s
        decision = held or await self._decide()
        while decision.action == "suppress" and not s.resolved:
            if decision.silence_id != holding:  # re-checks under the same silence add no step
                holding = decision.silence_id
                self._record_decision(decision)
                self._publish()
                await self._flush()
            if self._history_full():
                await self._continue_open(decision.model_dump(mode="json"), holding)
            recheck = decision.recheck_at or workflow.now() + timedelta(minutes=5)
            wait = max(recheck - workflow.now(), timedelta(seconds=1))
            try:
                await workflow.wait_condition(
                    lambda: s.resolved,
                    timeout=wait,
                    timeout_summary=f"held by silence {decision.silence_id}",
                )
            except TimeoutError:
                decision = await self._decide()
        if not s.resolved:
            self._record_decision(decision)
        self._decision = decision

    async def _await_delivery(self) -> None:
        """Outside support hours: a durable timer until they start (resolution ends it)."""
        s = self._s
        decision = self._decision
        if decision is None or decision.deliver_at is None or s.resolved:
            return
        wait = decision.deliver_at - workflow.now()
        if wait <= timedelta(0):
            return
        self._publish()
        await self._flush()
        try:
            await workflow.wait_condition(
                lambda: s.resolved,
                timeout=wait,
                timeout_summary=f"{decision.action} waits for support hours",
            )
        except TimeoutError:
            s.record(StepKind.NOTE, workflow.now(), note="support hours started: delivering")

    async def _deliver_routed(self) -> None:
        """Level 1 has started and routing did not page: notify (Slack only, slower) or ticket."""
        s = self._s
        if s.routing == "notify":
            lvl = s.current_level
            now = workflow.now()
            s.ack_due = s.after(now, lvl.response_time * NOTIFY_FACTOR, lvl.business_hours)
            await self._page("notify")
        else:  # a ticket: in the role's digest, nobody interrupted, no timers
            s.ack_due = None

    def _channels(self, channels: list[Channel]) -> list[Channel]:
        if self._routing_v2 and self._s.routing == "notify":
            return quiet_channels(channels)
        return channels

    def _publish(self) -> None:
        super()._publish()
        if self._headline:
            details = workflow.get_current_details()
            workflow.set_current_details(f"{details}\n\n**Routing:** {self._headline}")
