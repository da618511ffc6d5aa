"""The side-effecting steps of the EscalationWorkflow: pages, escalation, waits, records.

A base class of the workflow, so `escalator/workflows/escalation.py` keeps only the
sequence and the owner-response handlers. Everything here runs inside the
workflow: Temporal calls only, times from ``workflow.now()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalator.policies.roles import Channel
    from escalator.workflows import search_attributes as sa
    from escalator.workflows.activity_contracts import (
        ACTIVITY_NOTIFY,
        ACTIVITY_RECORD_STEPS,
        Delivery,
        Notification,
        NotificationReason,
        NotifyRequest,
        NotifyResult,
        RecordStepsInput,
    )
    from escalator.workflows.contracts import EscalationInput, ExceptionState, StepKind
    from escalator.workflows.delivery import DELIVERY_PER_TARGET, Outbox
    from escalator.workflows.escalation_state import Deadline, EscalationState
    from escalator.workflows.presentation import current_details
    from escalator.workflows.step_writer import StepWriter
    from escalator.workflows.targets import Target, role_targets, update_targets

__all__ = ["EscalationSteps"]

NOTIFY_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=30))
# Records must not be lost, but a records outage must not stop the escalation either:
# steps that could not be written stay queued for the next flush.
RECORD_RETRY = RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=30))
IN_PLACE: set[str] = {"informed", "update", "resolved"}
# How long a continue-as-new waits for messages on their way before trying at a later wake.
SETTLE_WAIT = timedelta(seconds=30)
Batch = list[tuple[Target, NotificationReason]]


class EscalationSteps:
    _s: EscalationState
    _inbox: list[tuple[str, str | None]]
    _reopen: EscalationInput | None
    _published: dict[str, Any]
    # Per-target background delivery and background records (patch delivery-per-target),
    # decided at the first notification, flush or settle of the run.
    _delivery_v2: bool | None = None
    _outbox_: Outbox | None = None
    _writer_: StepWriter | None = None

    def _per_target(self) -> bool:
        if self._delivery_v2 is None:
            self._delivery_v2 = workflow.patched(DELIVERY_PER_TARGET)
        return self._delivery_v2

    @property
    def _outbox(self) -> Outbox:
        if self._outbox_ is None:
            self._outbox_ = Outbox()
        return self._outbox_

    @property
    def _writer(self) -> StepWriter:
        if self._writer_ is None:
            self._writer_ = StepWriter(self._s)
        return self._writer_

    # --- waiting ---

    def _woken(self) -> bool:
        return bool(self._inbox) or self._s.resolved

    async def _wait(self, deadline: Deadline | None) -> None:
        """Record what happened so far, then sleep until the deadline or until someone acts."""
        self._publish()  # first: the UI should not lag behind the records activity
        await self._flush()
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

    # --- escalation ---

    def _channels(self, channels: list[Channel]) -> list[Channel]:
        """The level's channels as routing allows them (a notification drops SMS/voice)."""
        return channels

    async def _page(self, reason: NotificationReason, also: Batch | None = None) -> None:
        """Page the role that owns the current level; keep every earlier role informed."""
        s = self._s
        role = s.owner_role
        channels = self._channels(s.current_level.channels)
        targets, skipped = role_targets(s.policy, role, channels, workflow.now())
        s.add_notified(role)
        batch: Batch = [(t, reason) for t in targets] + list(also or [])
        inform: NotificationReason = (
            "informed" if reason in ("escalated", "repeat", "broadcast") else "update"
        )
        others = [r for r in s.notified_roles if r != role]
        batch += [(t, inform) for t in update_targets(s.policy, others)]
        await self._notify(batch, skipped, f"page {role} (level {s.level}, {reason})")

    async def _escalate(
        self, cause: str, actor: str | None = None, also: Batch | None = None
    ) -> None:
        s = self._s
        now = workflow.now()
        reason: NotificationReason
        if s.level < len(s.levels):
            nxt, reason = s.level + 1, "escalated"
        elif s.round < s.policy.escalation.repeat:
            s.round += 1
            nxt, reason = 1, "repeat"
        else:
            await self._exhaust(cause, also)
            return
        previous = s.owner_role
        s.start_level(nxt, now)
        if s.state is ExceptionState.ACKNOWLEDGED:
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
        await self._page(reason, also)

    async def _exhaust(self, cause: str, also: Batch | None) -> None:
        """Every level had its chance: do what the policy says."""
        s = self._s
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
            if s.state is ExceptionState.ACKNOWLEDGED:
                s.restart_restore_window(now)
            s.record(
                StepKind.ESCALATED, now, level=1, role=s.owner_role, cause="repeat", round=s.round
            )
            await self._page("repeat", also)
            return
        s.ack_due = s.restore_due = None
        lead = esc.incident_lead_role
        if esc.on_exhausted == "broadcast" and lead:
            channels = s.levels[-1].channels
            targets, skipped = role_targets(s.policy, lead, channels, now)
            s.add_notified(lead)
            batch: Batch = [(t, "broadcast") for t in targets] + list(also or [])
            others = [r for r in s.notified_roles if r != lead]
            batch += [(t, "informed") for t in update_targets(s.policy, others)]
            await self._notify(batch, skipped, f"broadcast to {lead}: all levels exhausted")
        elif also:
            await self._notify(list(also), [], "remind: all levels exhausted")

    async def _update_everyone(self, reason: NotificationReason, summary: str) -> None:
        s = self._s
        await self._notify(
            [(t, reason) for t in update_targets(s.policy, s.notified_roles)], [], summary
        )

    # --- activities ---

    async def _notify(self, batch: Batch, skipped: Sequence[str], summary: str) -> None:
        s = self._s
        if not batch:
            return
        s.notify_count += 1
        if self._per_target():
            self._dispatch(batch, skipped, summary)
            return
        status = s.status(with_timeline=False)
        notifications = [
            Notification(
                exception_id=s.exception_id,
                idempotency_key=f"{s.exception_id}/{s.run_id}/n{s.notify_count}/{t.channel}/{t.target}",
                level=s.level,
                role=t.role,
                channel=t.channel,
                target=t.target,
                member=t.member,
                reason=why,
                status=status,
                replaces=s.messages.get(t.key) if why in IN_PLACE else None,
            )
            for t, why in batch
        ]
        try:
            result = await workflow.execute_activity(
                ACTIVITY_NOTIFY,
                NotifyRequest(notifications=notifications),
                result_type=NotifyResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=NOTIFY_RETRY,
                summary=summary,
            )
            deliveries = result.deliveries
        except ActivityError as err:
            error = str(err.cause or err)
            deliveries = [
                Delivery(ok=False, channel=n.channel, target=n.target, error=error)
                for n in notifications
            ]
        sent = []
        for (t, why), d in zip(batch, deliveries, strict=True):
            if d.ok and d.provider_message_id and t.key not in s.messages:
                s.messages[t.key] = d.provider_message_id
            sent.append(
                {"role": t.role, "channel": t.channel, "target": t.target, "member": t.member}
                | {"reason": why, "ok": d.ok, "error": d.error}
            )
        s.record(
            StepKind.NOTIFIED,
            workflow.now(),
            level=s.level,
            role=s.owner_role,
            reason=batch[0][1],
            status="sent" if any(d.ok for d in deliveries) else "failed",
            sent=sent,
            skipped=list(skipped),
        )

    def _dispatch(self, batch: Batch, skipped: Sequence[str], summary: str) -> None:
        """Start one background delivery per target; record the NOTIFIED step when the
        last of them has an answer (sent, refused for good, or out of time)."""
        s = self._s
        status = s.status(with_timeline=False)
        level, role, count = s.level, s.owner_role, s.notify_count
        results: dict[int, dict[str, Any]] = {}
        first_ok: list[str] = []  # when the first target got it: time to notify counts there

        def make(t: Target, why: NotificationReason) -> Notification:
            return Notification(
                exception_id=s.exception_id,
                idempotency_key=f"{s.exception_id}/{s.run_id}/n{count}/{t.channel}/{t.target}",
                level=level,
                role=t.role,
                channel=t.channel,
                target=t.target,
                member=t.member,
                reason=why,
                status=status,
                replaces=s.messages.get(t.key) if why in IN_PLACE else None,
                run_id=s.run_id,
            )

        def done(i: int, t: Target, why: NotificationReason, n: Notification, d: Delivery) -> None:
            if d.ok and d.provider_message_id and t.key not in s.messages:
                s.messages[t.key] = d.provider_message_id
            if d.ok and not first_ok:
                first_ok.append(workflow.now().isoformat())
            results[i] = {
                "role": t.role,
                "channel": t.channel,
                "target": t.target,
                "member": t.member,
                "reason": why,
                "ok": d.ok,
                "error": d.error,
                "idempotency_key": n.idempotency_key,
                "provider_message_id": d.provider_message_id,
                "attempts": d.attempts,
            }
            if len(results) < len(batch):
                return
            sent = [results[k] for k in sorted(results)]
            s.record(
                StepKind.NOTIFIED,
                workflow.now(),
                level=level,
                role=role,
                reason=batch[0][1],
                status="sent" if any(e["ok"] for e in sent) else "failed",
                sent=sent,
                skipped=list(skipped),
                first_delivered_at=first_ok[0] if first_ok else None,
            )
            self._writer.soon()

        for i, (t, why) in enumerate(batch):
            self._outbox.start(
                t.key,
                lambda t=t, why=why: make(t, why),  # type: ignore[misc]
                f"{summary}: {t.channel} {t.target}",
                lambda n, d, i=i, t=t, why=why: done(i, t, why, n, d),  # type: ignore[misc]
            )

    async def _flush(self) -> None:
        """Hand the steps recorded since the last flush to the records activity.

        Per-target runs write records in the background and return at once: a timer
        never waits on the records database. Older runs wait, as they did.
        """
        if self._per_target():
            self._writer.soon()
            return
        steps = self._s.take_unrecorded()
        if not steps:
            return
        kinds = ", ".join(dict.fromkeys(step.kind.value for step in steps))
        try:
            await workflow.execute_activity(
                ACTIVITY_RECORD_STEPS,
                RecordStepsInput(steps=steps),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RECORD_RETRY,
                summary=f"record {kinds}",
            )
        except ActivityError:
            self._s.unrecorded = steps + self._s.unrecorded

    async def _settle(self, *, final: bool = True) -> bool:
        """Before the run ends (``final``): every delivery answered and every step handed to
        the records. Before a continue-as-new: False while a delivery is still being retried
        (the escalation must not wait on a provider outage: the caller tries again at a
        later wake); else the batch of steps in flight written, the rest carried."""
        if not self._per_target():
            await self._flush()
            return True
        if final:
            await workflow.wait_condition(self._outbox.idle)
            await self._writer.drain()
            return True
        if not self._outbox.idle():
            # Messages just handed over usually answer within seconds; one stuck in a
            # provider outage must not hold the next deadline.
            wait = SETTLE_WAIT
            deadline = self._s.next_deadline()
            if deadline is not None:
                wait = min(wait, max(deadline.due - workflow.now(), timedelta(0)))
            if wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        self._outbox.idle, timeout=wait, timeout_summary="messages on their way"
                    )
            if not self._outbox.idle():
                return False
        await self._writer.pause()
        return True

    # --- what incident leads see ---

    def _publish(self) -> None:
        """Upsert the search attributes that changed; refresh the current details."""
        s = self._s
        rule = s.policy.rule
        values: list[tuple[SearchAttributeKey[Any], Any]] = [
            (sa.JOURNEY, s.detection.journey),
            (sa.RULE, s.detection.rule),
            (sa.KIND, rule.kind),
            (sa.CASE_ID, s.detection.subject),
            (sa.SEVERITY, rule.severity),
            (sa.OWNER_ROLE, s.owner_role),
            (sa.LEVEL, s.level),
            (sa.STATE, s.state.value),
            (sa.EXHAUSTED, s.exhausted),
        ]
        changes: list[SearchAttributeUpdate[Any]] = []
        for key, value in values:
            if self._published.get(key.name) != value:
                changes.append(key.value_set(value))
                self._published[key.name] = value
        if changes:
            workflow.upsert_search_attributes(changes)
        workflow.set_current_details(
            current_details(
                state=s.state,
                level=s.level,
                role=s.owner_role,
                policy=s.policy,
                exhausted=s.exhausted,
                ack_due=s.ack_due,
                restore_due=s.restore_due,
                snoozed_until=s.snoozed_until,
                acknowledged_by=s.acknowledged_by,
                resolved_by=s.resolved_by,
                resolved_at=s.resolved_at,
                occurrences=s.occurrences,
            )
        )
