"""Who the EscalationWorkflow pages, and what a passing deadline does.

Paging a level tells its role on the level's channels (a notify-routed
exception on chat channels only) and keeps every role told earlier informed;
escalating moves to the next level, or repeats, or does what the policy says
once every level had its chance. Everything here runs inside the workflow.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.policies.roles import LevelChannel
    from escalator.workflows.activity_contracts import NotificationReason
    from escalator.workflows.constants import NOTIFY_FACTOR, ONCALL_RESOLVED, WEBHOOK_UPDATES
    from escalator.workflows.contracts import ExceptionState, StepKind
    from escalator.workflows.escalation_notify import Batch, Notifier
    from escalator.workflows.escalation_state import Deadline, EscalationState
    from escalator.workflows.escalation_steps import PersonalSteps, stop_steps
    from escalator.workflows.on_call import ask_on_call
    from escalator.workflows.targets import (
        Target,
        member_targets,
        quiet_channels,
        sent_webhooks,
        update_targets,
    )

__all__ = ["Pager"]

OPEN, ACKED = ExceptionState.OPEN, ExceptionState.ACKNOWLEDGED
# Pages that start a level (or hand it to another role): who is on call is asked again.
# A reminder or a reverted acknowledgement goes to whoever the level started with.
LEVEL_STARTS: frozenset[NotificationReason] = frozenset(
    {"first", "escalated", "repeat", "reassigned", "notify", "broadcast"}
)


def routed_channels(s: EscalationState, channels: list[LevelChannel]) -> list[LevelChannel]:
    """The level's channels as routing allows them (a notification drops SMS and voice)."""
    if s.routing_v2 and s.routing == "notify":
        return quiet_channels(channels)
    return channels


class Pager:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._steps = PersonalSteps(notifier)  # members' own notification rules
        self._on_call: dict[str, dict[str, Any]] = {}  # role -> the answer its level started with

    async def on_call(
        self, s: EscalationState, role: str, reason: NotificationReason
    ) -> dict[str, Any] | None:
        """Who of ``role`` is on call now, asked of an activity when a level starts (runs
        with patch ``oncall-resolved``); None in runs before it (the rotation, read here)."""
        if not workflow.patched(ONCALL_RESOLVED):
            return None
        known = self._on_call.get(role)
        if known is not None and reason not in LEVEL_STARTS:
            return known
        found = await ask_on_call(s.policy, role)
        if found is None:
            return None
        self._on_call[role] = found
        s.note_on_call(role, found)  # for the Temporal UI's current details
        return found

    async def page(
        self, s: EscalationState, reason: NotificationReason, also: Batch | None = None
    ) -> None:
        """Page the role that owns the current level; keep every earlier role informed."""
        role = s.owner_role
        channels = routed_channels(s, s.current_level.channels)
        on_call = await self.on_call(s, role, reason)
        member = on_call["member"] if on_call else None
        if reason == "reassigned":  # handed to another role: nobody else's steps go on
            self.stop_steps(s, f"reassigned to {role}")
        targets, skipped, rule = self._steps.targets(s, role, channels, member, reason)
        s.add_notified(role)
        batch: Batch = [(t, reason) for t in targets] + list(also or [])
        inform: NotificationReason = (
            "informed" if reason in ("escalated", "repeat", "broadcast") else "update"
        )
        others = [r for r in s.notified_roles if r != role]
        batch += [(t, inform) for t in update_targets(s.policy, others)]
        event = None
        if reason == "reassigned":  # a state change: the webhooks paged so far hear it
            hooks = self._webhooks(s, besides=targets)
            batch += [(t, "update") for t in hooks]
            event = "reassigned" if hooks else None
        await self._notifier.notify(
            s,
            batch,
            skipped,
            f"page {role} (level {s.level}, {reason})",
            on_call,
            detail=rule,
            event=event,
        )

    def _webhooks(self, s: EscalationState, besides: list[Target] | None = None) -> list[Target]:
        """The webhooks this exception paged, for a state change (runs with patch
        ``webhook-updates``; the patch is asked only when there is one, so a run without
        webhooks records nothing new)."""
        hooks = sent_webhooks(s.messages, besides=besides or [])
        if not hooks or not workflow.patched(WEBHOOK_UPDATES):
            return []
        return hooks

    def stop_steps(self, s: EscalationState, cause: str, actor: str | None = None) -> None:
        """Someone answered: every member's remaining notification steps stop."""
        stop_steps(s, workflow.now(), cause, actor=actor)

    async def deliver_routed(self, s: EscalationState) -> None:
        """Level 1 has started and routing did not page: notify (chat only, slower) or ticket."""
        if s.routing == "notify":
            lvl = s.current_level
            now = workflow.now()
            s.ack_due = s.after(now, lvl.response_time * NOTIFY_FACTOR, lvl.business_hours)
            await self.page(s, "notify")
        else:  # a ticket: in the role's digest, nobody interrupted, no timers
            s.ack_due = None

    async def tell_owner_acknowledged(self, s: EscalationState) -> None:
        """Acknowledged before any page (by an incident lead): paging would wake someone for
        an exception already taken. The owning role hears it once, on its update channel;
        the time-to-restore and ack-timeout timers run as after any acknowledgement."""
        if s.routing == "ticket":  # the role's digest lists it; nobody is interrupted
            return
        role = s.owner_role
        s.add_notified(role)
        await self._notifier.notify(
            s,
            [(t, "informed") for t in update_targets(s.policy, [role])],
            [],
            f"tell {role}: acknowledged by {s.acknowledged_by} before any page",
        )

    async def update_everyone(
        self, s: EscalationState, reason: NotificationReason, summary: str, event: str
    ) -> None:
        """A state change (``event``: acknowledged, snoozed, resolved) to every role told so
        far, on its Slack channel (else the console), and to the webhooks their levels paged:
        once per webhook, with the same idempotency-key scheme as every delivery."""
        batch: Batch = [(t, reason) for t in update_targets(s.policy, s.notified_roles)]
        hooks = self._webhooks(s)
        batch += [(t, reason) for t in hooks]
        await self._notifier.notify(s, batch, [], summary, event=event if hooks else None)

    async def escalate(
        self, s: EscalationState, cause: str, actor: str | None = None, also: Batch | None = None
    ) -> None:
        now = workflow.now()
        reason: NotificationReason
        if s.level < len(s.levels):
            nxt, reason = s.level + 1, "escalated"
        elif s.round < s.policy.escalation.repeat:
            s.round += 1
            nxt, reason = 1, "repeat"
        else:
            await self._exhaust(s, cause, also)
            return
        previous = s.owner_role
        s.start_level(nxt, now)
        if s.state is ACKED:
            s.restart_restore_window(now)
        s.record(
            StepKind.ESCALATED,
            now,
            actor=actor,
            level=nxt,
            role=s.owner_role,
            cause=cause,
            previous_role=previous,
            round=s.round,
        )
        await self.page(s, reason, also)

    async def _exhaust(self, s: EscalationState, cause: str, also: Batch | None) -> None:
        """Every level had its chance: do what the policy says."""
        now = workflow.now()
        esc = s.policy.escalation
        s.exhausted = True
        s.record(
            StepKind.EXHAUSTED,
            now,
            level=s.level,
            role=s.owner_role,
            on_exhausted=esc.on_exhausted,
            cause=cause,
            round=s.round,
        )
        if esc.on_exhausted == "repeat":
            s.round += 1
            s.start_level(1, now)
            if s.state is ACKED:
                s.restart_restore_window(now)
            s.record(
                StepKind.ESCALATED, now, level=1, role=s.owner_role, cause="repeat", round=s.round
            )
            await self.page(s, "repeat", also)
            return
        s.ack_due = s.restore_due = None
        lead = esc.incident_lead_role
        if esc.on_exhausted == "broadcast" and lead:
            channels = s.levels[-1].channels
            on_call = await self.on_call(s, lead, "broadcast")
            member = on_call["member"] if on_call else None
            targets, skipped, rule = self._steps.targets(s, lead, channels, member, "broadcast")
            s.add_notified(lead)
            batch: Batch = [(t, "broadcast") for t in targets] + list(also or [])
            others = [r for r in s.notified_roles if r != lead]
            batch += [(t, "informed") for t in update_targets(s.policy, others)]
            await self._notifier.notify(
                s,
                batch,
                skipped,
                f"broadcast to {lead}: all levels exhausted",
                on_call,
                detail=rule,
            )
        elif also:
            await self._notifier.notify(s, list(also), [], "remind: all levels exhausted")

    async def on_deadline(self, s: EscalationState, deadline: Deadline) -> None:
        """The deadline the loop waited for has passed: act on it."""
        now = workflow.now()
        if deadline.kind == "ack":
            await self.escalate(s, "no acknowledgement within the response time")
        elif deadline.kind == "step":
            await self._steps.send_due(s)
        elif deadline.kind == "snooze":
            s.state = s.snoozed_from or OPEN
            s.snoozed_until = s.snoozed_from = None
            s.record(StepKind.NOTE, now, actor=s.snoozed_by, level=s.level, note="snooze ended")
            if s.state is OPEN:
                s.restart_ack_window(now)
                await self.page(s, "reminder")
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
            await self.page(s, "reverted")
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
            await self.escalate(
                s, "time to restore passed", also=[(t, "reminder") for t in reminders]
            )
