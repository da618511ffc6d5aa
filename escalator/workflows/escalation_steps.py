"""Members' personal notification rules inside the EscalationWorkflow.

When a level pages a member whose rule has steps for the exception's urgency
(``page``, or ``notify`` for a notify-routed exception), the member is reached
by those steps instead of the level's person channels (DM, SMS, voice): the
steps due at once go out with the page, the later ones wait in the state
(`EscalationState.personal_steps`) on the workflow's durable timer, each its
own delivery with its own idempotency key. An acknowledgement, a snooze, a
reassignment or the resolution stops the remaining steps; paging the member
again lays them out anew. The level's response time still decides when the
next level is paged. Members without a rule are paged as before.

Behind patch ``personal-notify-rules``: runs started before it page by the
level's channels alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.policies.notify_rules import Urgency
    from escalator.policies.roles import LevelChannel
    from escalator.workflows.activity_contracts import NotificationReason
    from escalator.workflows.constants import PERSONAL_NOTIFY_RULES
    from escalator.workflows.contracts import StepKind
    from escalator.workflows.escalation_notify import Notifier
    from escalator.workflows.escalation_state import EscalationState
    from escalator.workflows.personal_steps import level_channels, plan_steps
    from escalator.workflows.targets import Target, role_targets

__all__ = ["PersonalSteps", "stop_steps"]


def stop_steps(
    s: EscalationState,
    now: datetime,
    cause: str,
    *,
    actor: str | None = None,
    member: str | None = None,
) -> None:
    """Drop the pending steps (of ``member``, or everyone's) and record what was stopped."""
    stopped = [p for p in s.personal_steps if member is None or p.member == member]
    if not stopped:
        return
    s.personal_steps = [p for p in s.personal_steps if member is not None and p.member != member]
    s.record(
        StepKind.STEPS_STOPPED,
        now,
        actor=actor,
        level=s.level,
        role=s.owner_role,
        cause=cause,
        stopped=[p.detail() for p in stopped],
    )


class PersonalSteps:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    def targets(
        self,
        s: EscalationState,
        role_name: str,
        channels: list[LevelChannel],
        on_call: str | None,
        reason: NotificationReason,
    ) -> tuple[list[Target], list[str], dict[str, Any]]:
        """Who a page of ``role_name`` on ``channels`` goes to now, the channels and steps
        skipped (with why), and the member's rule as laid out (for the page's step)."""
        now = workflow.now()
        role = s.policy.role(role_name)
        member = role.member(on_call) or role.on_call(now)
        urgency: Urgency = "notify" if s.routing == "notify" else "page"
        steps = member.notify.steps(urgency) if member.notify else None
        if not steps or not workflow.patched(PERSONAL_NOTIFY_RULES):
            targets, skipped = role_targets(s.policy, role_name, channels, now, on_call)
            return targets, skipped, {}
        plan = plan_steps(
            role=role_name,
            member=member,
            steps=steps,
            urgency=urgency,
            channels=channels,
            level=s.level,
            reason=reason,
            at=now,
        )
        own = level_channels(channels)
        targets, skipped = ([], [])
        if own:
            targets, skipped = role_targets(s.policy, role_name, own, now, on_call, fallback=False)
        targets = targets + plan.now
        if not targets:  # as for a level whose channels reach nobody: the page must not vanish
            targets = [Target(role_name, "console", role_name, member.name)]
        stop_steps(s, now, f"paged again: level {s.level} ({reason})", member=member.name)
        s.personal_steps.extend(plan.later)
        return targets, skipped + plan.skipped, {"personal": plan.detail}

    async def send_due(self, s: EscalationState) -> None:
        """Send every step whose time has come: each its own notification (and key)."""
        now = workflow.now()
        due = [p for p in s.personal_steps if p.due <= now]
        s.personal_steps = [p for p in s.personal_steps if p.due > now]
        for p in sorted(due, key=lambda p: p.due):
            target = Target(p.role, p.channel, p.target, p.member)
            await self._notifier.notify(
                s,
                [(target, cast(NotificationReason, p.reason))],
                [],
                p.label,
                detail={"personal_step": p.detail()},
                level=p.level,
                role=p.role,
            )
