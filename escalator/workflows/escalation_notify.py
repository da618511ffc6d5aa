"""How the EscalationWorkflow's messages and records leave the workflow.

Runs with per-target delivery (patch ``delivery-per-target``, decided at the
run's first notification, flush or settle) start one background ``deliver``
per target and write records in the background (`escalator/workflows/delivery.py`,
`escalator/workflows/step_writer.py`): no timer waits on a provider or on the
records database. Runs recorded before it send a level's targets in one
``notify`` activity and wait for it, and for the records, as they did.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
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
    from escalator.workflows.constants import (
        DELIVERY_PER_TARGET,
        IN_PLACE,
        NOTIFY_RETRY,
        RECORD_RETRY,
    )
    from escalator.workflows.contracts import StepKind
    from escalator.workflows.delivery import Outbox
    from escalator.workflows.escalation_state import EscalationState
    from escalator.workflows.step_writer import StepWriter
    from escalator.workflows.targets import Target

__all__ = ["Batch", "Notifier"]

# How long a continue-as-new waits for messages on their way before trying at a later wake.
SETTLE_WAIT = timedelta(seconds=30)
Batch = list[tuple[Target, NotificationReason]]


class Notifier:
    def __init__(self) -> None:
        self._per_target_: bool | None = None
        self._outbox = Outbox()
        self._writer = StepWriter()

    def per_target(self) -> bool:
        if self._per_target_ is None:
            self._per_target_ = workflow.patched(DELIVERY_PER_TARGET)
        return self._per_target_

    async def notify(
        self,
        s: EscalationState,
        batch: Batch,
        skipped: Sequence[str],
        summary: str,
        on_call: dict[str, Any] | None = None,
        *,
        detail: dict[str, Any] | None = None,
        level: int | None = None,
        role: str | None = None,
        event: str | None = None,
    ) -> None:
        """Send ``batch`` and record it as one NOTIFIED step (with who was on call and why,
        when the level's start resolved it, and ``detail``). ``level`` and ``role``: the
        level that sent it, when not the current one (a member's later step). ``event``:
        the state change it reports (acknowledged, resolved, ...), a webhook's ``event``."""
        if s.storm_id is not None:
            # Grouped: an in-place update of a message this exception never sent would be a
            # new message per subject, exactly the flood storm control prevents. Webhooks
            # follow the same rule: their update targets come from ``s.messages`` (what this
            # exception delivered itself), so a member tells a webhook only when it paged
            # that webhook before it was grouped; a webhook the storm's summary reached
            # hears nothing per member (the storm workflow speaks for the group).
            batch = [(t, why) for t, why in batch if why not in IN_PLACE or t.key in s.messages]
        if not batch:
            return
        s.notify_count += 1
        extra = ({"on_call": on_call} if on_call else {}) | (detail or {})
        at = (s.level if level is None else level, s.owner_role if role is None else role)
        if self.per_target():
            self._dispatch(s, batch, skipped, summary, extra, at, event)
            return
        await self._notify_at_once(s, batch, skipped, summary, extra, at, event)

    async def _notify_at_once(
        self,
        s: EscalationState,
        batch: Batch,
        skipped: Sequence[str],
        summary: str,
        extra: dict[str, Any],
        at: tuple[int, str],
        event: str | None = None,
    ) -> None:
        """Before per-target delivery: one activity for the batch, awaited."""
        level, role = at
        status = s.status(with_timeline=False)
        notifications = [
            Notification(
                exception_id=s.exception_id,
                idempotency_key=f"{s.exception_id}/{s.run_id}/n{s.notify_count}/{t.channel}/{t.target}",
                level=level,
                role=t.role,
                channel=t.channel,
                target=t.target,
                member=t.member,
                reason=why,
                status=status,
                replaces=s.messages.get(t.key) if why in IN_PLACE else None,
                event=event,
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
            level=level,
            role=role,
            reason=batch[0][1],
            status="sent" if any(d.ok for d in deliveries) else "failed",
            sent=sent,
            skipped=list(skipped),
            **extra,
        )

    def _dispatch(
        self,
        s: EscalationState,
        batch: Batch,
        skipped: Sequence[str],
        summary: str,
        extra: dict[str, Any],
        at: tuple[int, str],
        event: str | None = None,
    ) -> None:
        """Start one background delivery per target; record the NOTIFIED step when the
        last of them has an answer (sent, refused for good, or out of time)."""
        status = s.status(with_timeline=False)
        (level, role), count = at, s.notify_count
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
                event=event,
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
                **extra,
            )
            self._writer.soon(s)

        for i, (t, why) in enumerate(batch):
            self._outbox.start(
                t.key,
                lambda t=t, why=why: make(t, why),  # type: ignore[misc]
                f"{summary}: {t.channel} {t.target}",
                lambda n, d, i=i, t=t, why=why: done(i, t, why, n, d),  # type: ignore[misc]
            )

    async def flush(self, s: EscalationState) -> None:
        """Hand the steps recorded since the last flush to the records activity.

        Per-target runs write records in the background and return at once: a timer
        never waits on the records database. Older runs wait, as they did.
        """
        if self.per_target():
            self._writer.soon(s)
            return
        steps = s.take_unrecorded()
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
            s.unrecorded = steps + s.unrecorded

    async def settle(self, s: EscalationState, *, final: bool = True) -> bool:
        """Before the run ends (``final``): every delivery answered and every step handed to
        the records. Before a continue-as-new: False while a delivery is still being retried
        (the escalation must not wait on a provider outage: the caller tries again at a
        later wake); else the batch of steps in flight written, the rest carried."""
        if not self.per_target():
            await self.flush(s)
            return True
        if final:
            await workflow.wait_condition(self._outbox.idle)
            await self._writer.drain(s)
            return True
        if not self._outbox.idle():
            # Messages just handed over usually answer within seconds; one stuck in a
            # provider outage must not hold the next deadline.
            wait = SETTLE_WAIT
            deadline = s.next_deadline()
            if deadline is not None:
                wait = min(wait, max(deadline.due - workflow.now(), timedelta(0)))
            if wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        self._outbox.idle, timeout=wait, timeout_summary="messages on their way"
                    )
            if not self._outbox.idle():
                return False
        await self._writer.pause(s)
        return True
