"""The two activities of the shift hand-off workflow: when is the next hand-off, and post it.

Both read the overrides and vacations from the records database (the worker's
`escalator.activities.oncall.Changes`), so the workflow, which cannot, sleeps on an
answer that was true when it asked and asks again at the hand-off: the post re-reads
who is on call at that moment. If an override made since keeps the member the last
message named, nothing is posted and the result says why.

The message goes through the worker's channel senders as a `Notification` with reason
``handoff`` and an idempotency key of role and moment: a retried activity finds the
message it posted (the Slack sender's delivery guard, then the message metadata) and
never posts it twice. A role without a Slack channel (or a worker without Slack) gets
the console line.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from escalator.activities.channels import ChannelSender, ConsoleSender, role_post
from escalator.activities.handoff_blocks import ShiftValue, handoff_text, role_zone
from escalator.activities.oncall import Changes, no_changes
from escalator.policies.schedule_sweep import next_handoffs
from escalator.policies.shifts import shift_at
from escalator.workflows.activity_contracts import Notification
from escalator.workflows.exception_contracts import ExceptionState, ExceptionStatus
from escalator.workflows.handoff_contracts import (
    ACTIVITY_NEXT_HANDOFF,
    ACTIVITY_POST_HANDOFF,
    HandoffPosted,
    NextHandoff,
    NextHandoffRequest,
    PostHandoff,
)

__all__ = ["HORIZON", "HandoffActivities"]

HORIZON = timedelta(days=62)  # no hand-off within this: the workflow asks again later
DUE_AT_MOST = 500  # hand-offs already due looked through for the latest (then ask again)


def _status(req: PostHandoff, summary: str, shift: ShiftValue, why: str) -> ExceptionStatus:
    """A message that is not an exception, in the shape channels render (like digests)."""
    return ExceptionStatus(
        exception_id=f"handoff:{req.role.name}",
        journey="-",
        rule="handoff",
        kind="volume",
        subject=req.role.name,
        severity="low",
        state=ExceptionState.OPEN,
        level=0,
        owner_role=req.role.name,
        onset=req.at,
        detected_at=req.at,
        policy_version=req.policy_version,
        payload={"handoff": True, "summary": summary, "shift": shift.encode(), "why": why},
    )


class HandoffActivities:
    def __init__(
        self,
        changes: Changes = no_changes,
        senders: Mapping[str, ChannelSender] | None = None,
        fallback: ChannelSender | None = None,
    ) -> None:
        self.changes = changes
        self.senders = senders or {}
        self.fallback = fallback or ConsoleSender()

    @activity.defn(name=ACTIVITY_NEXT_HANDOFF)
    async def next_handoff(self, req: NextHandoffRequest) -> NextHandoff:
        changes = await self.changes(req.role, req.after)
        schedule = req.role.effective_schedule(req.after)
        if req.now is not None and req.now > req.after:  # any due already: the latest
            span = req.now - req.after + timedelta(microseconds=1)  # up to `now` itself
            due = next_handoffs(schedule, changes, req.after, DUE_AT_MOST, span)
            if due:
                return NextHandoff(at=due[-1][0], member=due[-1][1].member)
        found = next_handoffs(schedule, changes, req.after, 1, HORIZON)
        if not found:
            return NextHandoff()
        return NextHandoff(at=found[0][0], member=found[0][1].member)

    @activity.defn(name=ACTIVITY_POST_HANDOFF)
    async def post_handoff(self, req: PostHandoff) -> HandoffPosted:
        role, at = req.role, req.at.astimezone(UTC)
        shift = shift_at(role, await self.changes(role, at), at)
        zone = role_zone(role, at)
        text = handoff_text(role.name, shift.member, shift.end, zone, at)
        if shift.member == req.previous_member:
            why = f"no hand-off: {shift.member or 'nobody'} stays on call ({shift.who.why})"
            activity.logger.info("hand-off for %s at %s: %s", role.name, at, why)
            return HandoffPosted(posted=False, member=shift.member, until=shift.end, skipped=why)
        channel, target = role_post(role.slack_channel, role.name, self.senders)
        value = ShiftValue(role=role.name, start=shift.start, end=shift.end, member=shift.member)
        before = f"; before: {req.previous_member}" if req.previous_member else ""
        message = Notification(
            exception_id=f"handoff:{role.name}",
            # The moment, not the run: a retry, or a run continued as new, is the same message.
            idempotency_key=f"handoff/{role.name}/{at:%Y-%m-%dT%H:%M:%SZ}/{channel}/{target}",
            level=0,
            role=role.name,
            channel=channel,
            target=target or role.name,
            member=shift.member,
            reason="handoff",
            status=_status(req, text, value, f"{shift.who.why}{before}"),
            attempt=activity.info().attempt,
            scheduled_at=activity.info().scheduled_time,
        )
        delivery = await self.senders.get(channel, self.fallback).send(message)
        if not delivery.ok and delivery.retryable:  # Temporal retries; the key guards it
            raise ApplicationError(
                delivery.error or "the channel did not take the hand-off message",
                next_retry_delay=(
                    timedelta(seconds=delivery.retry_after) if delivery.retry_after else None
                ),
            )
        return HandoffPosted(
            posted=delivery.ok,
            member=shift.member,
            until=shift.end,
            text=text,
            error=None if delivery.ok else delivery.error,
        )
