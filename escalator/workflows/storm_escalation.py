"""A storm escalates like one exception: level by level, until someone acknowledges it.

A base class of the StormWorkflow, used behind ``workflow.patched("storm-escalation")``
(storms recorded before it replay the old loop). The grouped message is the storm's
page: it starts the level-1 response time. If nobody acknowledges the storm within it,
the grouped message goes to the next level's role and channels (ONE message per
target, SMS where the level says so), and every still-open member is told by signal,
so it records the escalation in its own timeline (records, reports, its own level and
search attributes) and lets the newly told role answer it. When every level had its
chance the policy decides: repeat, broadcast to the incident-lead role, or flag.

Acknowledging the storm stops its escalation; resolving every member ends it too.
The storm ends once its rule has been quiet for ``window`` and nothing is left to
escalate.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from escalator.policies.duration import format_duration
    from escalator.policies.storm import StormControl
    from escalator.workflows.activity_contracts import (
        ACTIVITY_NOTIFY,
        Delivery,
        Notification,
        NotifyRequest,
        NotifyResult,
    )
    from escalator.workflows.constants import CHAT_CHANNELS, NOTIFY_FACTOR, NOTIFY_RETRY
    from escalator.workflows.contracts import ExceptionState, ExceptionStatus
    from escalator.workflows.delivery import Outbox
    from escalator.workflows.presentation import on_call_lines
    from escalator.workflows.responses import refuse
    from escalator.workflows.storm_contracts import (
        MIN_RUN_EVENTS,
        REGISTRATIONS_PER_RUN,
        SIGNAL_BATCH,
        STORM_DELIVERY,
        STORM_OVER,
        STORM_RUNS,
        StormAckInput,
        StormAnswer,
        StormEscalated,
        StormInput,
        StormResolveInput,
        StormState,
        storm_id,
    )
    from escalator.workflows.storm_levels import (
        LISTED,
        ack_due,
        level_channels,
        next_step,
        quiet,
        refuse_storm_actor,
        storm_summary,
        window_text,
    )
    from escalator.workflows.storm_on_call import ask_storm_on_call, started_with
    from escalator.workflows.targets import Target, role_targets

__all__ = ["StormEscalation", "storm_status_line"]

QUIET_REASON = (
    f"notified: every exception of this storm was routed notify (Slack only, response "
    f"times x{NOTIFY_FACTOR}); one routed page makes it page"
)


def _message(
    status: ExceptionStatus,
    t: Target,
    n: int,
    replaces: str | None,
    *,
    run_id: str | None = None,
) -> Notification:
    """The grouped message to one target, as the ``n``-th send of this run. ``run_id`` is
    kept on the notification since per-target delivery (the records group by it)."""
    key = f"{status.exception_id}/{workflow.info().run_id}/n{n}/{t.channel}/{t.target}"
    return Notification(
        exception_id=status.exception_id,
        idempotency_key=key,
        level=status.level,
        role=t.role,
        channel=t.channel,
        target=t.target,
        member=t.member,
        reason="storm",
        status=status,
        replaces=replaces,
        run_id=run_id,
    )


def storm_status_line(st: StormState, policy_levels: int, *, over: bool = False) -> str:
    """Where the storm's escalation stands, for the message and the Temporal UI."""
    if st.acknowledged_by and st.acknowledged_at:
        return f"acknowledged by {st.acknowledged_by} at {st.acknowledged_at:%H:%M} UTC"
    if st.exhausted:
        return f"every level ({policy_levels}) was paged without an acknowledgement"
    if st.ack_due and not over:
        return f"level {st.level}, unacknowledged: escalates at {st.ack_due:%Y-%m-%d %H:%M} UTC"
    return f"level {st.level}"


class StormEscalation:
    _inp: StormInput
    _st: StormState
    _dirty: bool
    _closing: bool
    _registered: int  # registrations in this run
    _outbox: Outbox  # grouped messages on their way, one chain per target
    _full: bool  # the run took what it may: it continues as new once its pages are out
    _sending: set[str]  # target keys whose first (paging) message is on its way

    @property
    def _control(self) -> StormControl:
        control = self._inp.policy.escalation.storm
        assert control is not None, "a storm runs only for policies with storm control"
        return control

    def _open_members(self) -> list[str]:
        done = set(self._st.resolved)
        return [m.exception_id for m in self._st.members if m.exception_id not in done]

    def _due(self) -> datetime | None:
        """The deadline the storm escalates at, or None when nothing is left to escalate."""
        st = self._st
        if st.acknowledged_by or st.exhausted or not self._open_members():
            return None
        return st.ack_due

    # --- answers: acknowledge all, resolve all (the caller then answers each member) ---

    @workflow.update
    def acknowledge(self, inp: StormAckInput) -> StormAnswer:
        st = self._st
        if st.acknowledged_by is None:
            st.acknowledged_by, st.acknowledged_at = inp.actor, workflow.now()
            st.ack_due = None
            self._dirty = True  # the message shows who took it
            message = f"storm acknowledged by {inp.actor}; its escalation stopped"
        else:
            message = f"storm already acknowledged by {st.acknowledged_by}"
        return StormAnswer(message=message, open_members=self._open_members())

    @acknowledge.validator
    def _check_acknowledge(self, inp: StormAckInput) -> None:
        self._check_answer(inp.actor)

    @workflow.update
    def resolve_all(self, inp: StormResolveInput) -> StormAnswer:
        return StormAnswer(
            message=f"{inp.actor} resolves every open exception of this storm",
            open_members=self._open_members(),
        )

    @resolve_all.validator
    def _check_resolve_all(self, inp: StormResolveInput) -> None:
        self._check_answer(inp.actor)

    def _check_answer(self, actor: str) -> None:
        if self._closing:  # typed: the caller answers the members instead
            raise ApplicationError(
                "this storm is over; answer its exceptions one by one",
                type=STORM_OVER,
                non_retryable=True,
            )
        refuse(refuse_storm_actor(self._inp.policy, self._st.notified_roles, actor))

    # --- the loop ---

    def _awake(self) -> bool:
        """Something for the loop to do before its next deadline: members joined or left,
        or a full run's last pages were answered (it continues as new now)."""
        if self._full:
            return not self._sending
        return self._dirty

    async def _run_escalating(self) -> None:
        st, control = self._st, self._control
        while True:
            if self._full and not self._sending:
                # Every page answered, so the next run knows which targets were paged. Until
                # then a full run still escalates on time but sends no updates (joiners are
                # carried as ``pending``) and new members wait at the gate. Edits still on
                # their way are left to the next run, which sends the storm as it is then:
                # waiting for them held a full run (and every registration) on the
                # 5,000-member bench while they queued behind the members' activities.
                await self._continue_as_new()
            now = workflow.now()
            if not self._open_members():
                st.ack_due = None  # everything resolved: the escalation ends
            quiet_at = (st.last_seen or now) + control.window
            due = self._due()
            if not self._awake():
                waits = [
                    (quiet_at - now, f"storm ends after {format_duration(control.window)} quiet")
                ]
                if due is not None:
                    level = self._inp.policy.escalation.levels[st.level - 1]
                    waits.append((due - now, window_text(level, st)))
                waits = [w for w in waits if w[0] > timedelta(0)]
                if waits:
                    timeout, summary = min(waits)
                    with contextlib.suppress(TimeoutError):
                        await workflow.wait_condition(
                            self._awake, timeout=timeout, timeout_summary=summary
                        )
            if self._full and not self._sending:
                continue
            if self._dirty and not self._full:
                # Let joiners gather, so 500 of them cost a handful of message updates; a run
                # that took all the registrations it may stops gathering and moves on.
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self._registered >= REGISTRATIONS_PER_RUN,
                        timeout=control.update_every,
                        timeout_summary="collect storm members",
                    )
                self._dirty = False
                await self._refresh()
            now, due = workflow.now(), self._due()
            if due is not None and now >= due:
                await self._escalate()
            elif due is None and now >= (st.last_seen or now) + control.window:
                self._closing = True
                await workflow.wait_condition(workflow.all_handlers_finished)
                break  # the last message counts whoever joined or answered until now
            if self._run_full():
                self._full = True  # continues as new at the top, once its messages are out
        if st.members:
            await self._send([], over=True)
        if not self._outbox.idle():  # the last message is delivered before the storm ends
            await workflow.wait_condition(self._outbox.idle)

    def _run_full(self) -> bool:
        """Time to continue as new: the run took REGISTRATIONS_PER_RUN registrations, or the
        server suggests it and the run has MIN_RUN_EVENTS events (a run whose carried state
        alone is near the size threshold would otherwise continue as new forever)."""
        info = workflow.info()
        if self._registered >= REGISTRATIONS_PER_RUN and workflow.patched(STORM_RUNS):
            return True
        if not info.is_continue_as_new_suggested():
            return False
        # Only asked when it matters: storms recorded before the patch continued at once.
        return info.get_current_history_length() >= MIN_RUN_EVENTS or not workflow.patched(
            STORM_RUNS
        )

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        # Joined since the last refresh, or an edit left on its way: the next run sends it.
        self._st.pending = self._dirty or not self._outbox.idle()
        workflow.continue_as_new(self._inp.model_copy(update={"state": self._st}))

    async def _refresh(self) -> None:
        st = self._st
        if not st.members:
            return
        if not st.notified_roles:  # the first grouped message is the storm's level-1 page
            await self._page("storm: page level 1")
            return
        fresh = st.ack_due is None and not (st.acknowledged_by or st.exhausted)
        if fresh and self._open_members():
            # Joined after every member was resolved: the current level gets a new window.
            st.ack_due = ack_due(self._inp.policy, st.level, workflow.now(), st)
        await self._send(self._unreached())

    def _unreached(self) -> list[Target]:
        """Targets of the current level whose page did not get through (the notify activity
        failed, or one channel refused): paged again with the next update, while the storm
        is still waiting for an acknowledgement."""
        st, policy = self._st, self._inp.policy
        if self._due() is None:
            return []
        level = policy.escalation.levels[st.level - 1]
        channels = level_channels(st, level.channels)
        member = started_with(st, level.role)
        targets, _ = role_targets(policy, level.role, channels, workflow.now(), member)
        # A notifying storm turned paging lands here too: its SMS/voice targets go out now.
        return [t for t in targets if t.key not in st.messages and t.key not in self._sending]

    async def _page(self, summary: str) -> None:
        """The grouped message to the current level's role on the level's channels."""
        st, policy, now = self._st, self._inp.policy, workflow.now()
        level = policy.escalation.levels[st.level - 1]
        member = await ask_storm_on_call(policy, st, level.role)
        channels = level_channels(st, level.channels)
        targets, _ = role_targets(policy, level.role, channels, now, member)
        if level.role not in st.notified_roles:
            st.notified_roles.append(level.role)
        st.ack_due = ack_due(policy, st.level, now, st)
        await self._send(targets, summary=summary)

    async def _escalate(self) -> None:
        st, policy, now = self._st, self._inp.policy, workflow.now()
        step = next_step(policy, st.level, st.round)
        sid = storm_id(self._inp.journey, self._inp.rule, self._inp.role)
        previous = policy.escalation.levels[st.level - 1].role
        if step.action != "exhausted":
            st.level, st.round = step.level, step.round
            role = policy.escalation.levels[st.level - 1].role
            cause = "no acknowledgement of the storm within the response time"
            st.escalations.append(
                StormEscalated(
                    storm_id=sid, level=st.level, role=role, round=st.round, cause=cause, at=now
                )
            )
            await self._tell_members(st.escalations[-1])
            await self._page(f"storm: escalate from {previous} to {role} (level {st.level})")
            return
        await self._exhaust(sid, now)

    async def _exhaust(self, sid: str, now: datetime) -> None:
        """Every level had its chance: as the policy says for a single exception."""
        st, esc = self._st, self._inp.policy.escalation
        if esc.on_exhausted == "repeat":
            st.level, st.round = 1, st.round + 1
            role = esc.levels[0].role
            event = StormEscalated(
                storm_id=sid,
                level=1,
                role=role,
                round=st.round,
                cause="repeat",
                at=now,
                exhausted=True,
                on_exhausted="repeat",
            )
            st.escalations.append(event)
            await self._tell_members(event)
            await self._page(f"storm: every level exhausted, paging {role} again")
            return
        st.exhausted, st.ack_due = True, None
        lead = esc.incident_lead_role if esc.on_exhausted == "broadcast" else None
        event = StormEscalated(
            storm_id=sid,
            level=st.level,
            role=lead or esc.levels[st.level - 1].role,
            round=st.round,
            cause="no acknowledgement of the storm at any level",
            at=now,
            exhausted=True,
            on_exhausted=esc.on_exhausted,
        )
        st.escalations.append(event)
        await self._tell_members(event)
        targets: list[Target] = []
        if lead:  # the incident leads hear of it on the last level's channels
            channels = level_channels(st, esc.levels[-1].channels)
            member = await ask_storm_on_call(self._inp.policy, st, lead)
            targets, _ = role_targets(self._inp.policy, lead, channels, now, member)
            if lead not in st.notified_roles:
                st.notified_roles.append(lead)
        # "flag": nobody new is paged; the message says every level was paged, members are
        # marked exhausted in the records, and the storm stays answerable until it ends.
        await self._send(targets, summary=f"storm: all levels exhausted ({esc.on_exhausted})")

    async def _tell_members(self, event: StormEscalated) -> None:
        """One signal per still-open member, SIGNAL_BATCH at a time: Temporal refuses more
        than 2,000 pending signals from one run, so each batch is sent and confirmed before
        the next (storms recorded before the patch sent them all in one workflow task)."""
        ids = self._open_members()
        batches = [ids]
        if len(ids) > SIGNAL_BATCH and workflow.patched(STORM_RUNS):
            batches = [ids[i : i + SIGNAL_BATCH] for i in range(0, len(ids), SIGNAL_BATCH)]
        results: list[object] = []
        for batch in batches:
            results += await asyncio.gather(
                *(
                    workflow.get_external_workflow_handle(xid).signal("storm_escalated", event)
                    for xid in batch
                ),
                return_exceptions=True,
            )
        gone = sum(1 for r in results if isinstance(r, BaseException))
        if gone:  # closed meanwhile (resolved and past its reopen window): nothing to escalate
            workflow.logger.info("storm escalation: %d members no longer running", gone)

    # --- the one message ---

    def _status(self, *, over: bool) -> ExceptionStatus:
        st, inp, policy = self._st, self._inp, self._inp.policy
        members = st.members
        done = len(set(st.resolved))
        line = storm_status_line(st, len(policy.escalation.levels), over=over)
        summary = f"{storm_summary(inp, st, over=over)}; {line}"
        level = policy.escalation.levels[st.level - 1]
        if done >= len(members):
            state = ExceptionState.RESOLVED
        elif st.acknowledged_by:
            state = ExceptionState.ACKNOWLEDGED
        else:
            state = ExceptionState.OPEN
        return ExceptionStatus(
            exception_id=storm_id(inp.journey, inp.rule, inp.role),
            journey=inp.journey,
            rule=inp.rule,
            kind=policy.rule.kind,
            subject=f"{len(members)} subjects",
            severity=policy.rule.severity,
            state=state,
            level=st.level,
            owner_role=level.role,
            notified_roles=list(st.notified_roles),
            occurrences=len(members),
            onset=min(m.onset for m in members),
            detected_at=min(m.detected_at for m in members),
            acknowledged_by=st.acknowledged_by,
            acknowledged_at=st.acknowledged_at,
            ack_due=self._due(),
            policy_version=policy.version,
            exhausted=st.exhausted,
            routing=st.routing,
            # Why a storm of notifications reached Slack only (rendered with the message).
            routing_reason=QUIET_REASON if quiet(st) else None,
            payload={
                "storm": True,
                "over": over,
                "summary": summary,
                "count": len(members),
                "resolved": done,
                "open": len(members) - done,
                "subjects": [m.subject for m in members[:LISTED]],
                "exception_ids": [m.exception_id for m in members[:LISTED]],
            },
        )

    async def _send(self, pages: list[Target], *, over: bool = False, summary: str = "") -> None:
        """New messages to ``pages``; every earlier message that can be edited, in place."""
        st = self._st
        if not st.members:
            return
        status = self._status(over=over)
        paged = {t.key for t in pages}
        # Every earlier message that can be edited (channel posts, DMs) shows the new
        # truth; an SMS cannot be edited, so it goes out on a page only.
        kept = []
        for key in st.messages:
            role, channel, target = key.split("|", 2)
            if key not in paged and channel in CHAT_CHANNELS:  # SMS cannot be edited
                kept.append(Target(role, channel, target))
        batch = [(t, False) for t in pages] + [(t, True) for t in kept]
        if not batch:
            return
        if workflow.patched(STORM_DELIVERY):
            self._post(batch, over, summary or f"storm: update the message ({len(st.members)})")
            self._details(status)
            return
        result = await self._deliver(
            status,
            [(t, st.messages.get(t.key) if in_place else None) for t, in_place in batch],
            summary or f"storm: update the message ({len(st.members)} exceptions)",
        )
        if result is not None:
            for (t, in_place), d in zip(batch, result.deliveries, strict=True):
                if d.ok and d.provider_message_id and not in_place:
                    st.messages[t.key] = d.provider_message_id  # a page: later updates edit it
        self._details(status)

    def _post(self, batch: list[tuple[Target, bool]], over: bool, summary: str) -> None:
        """One background ``deliver`` per target: ``(target, edit in place)`` each. The
        loop never waits on a provider; a target's update follows its page, and is rendered
        when its turn comes, so it shows the storm as it is then and edits the message the
        page left. A page that fails for good is paged again with the next update
        (`_unreached`), as before."""
        st = self._st
        st.sent += 1
        run_id = workflow.info().run_id
        for t, in_place in batch:
            if not in_place:
                self._sending.add(t.key)

            def make(t: Target = t, in_place: bool = in_place, n: int = st.sent) -> Notification:
                replaces = st.messages.get(t.key) if in_place else None
                return _message(self._status(over=over), t, n, replaces, run_id=run_id)

            def done(
                _: Notification, d: Delivery, t: Target = t, in_place: bool = in_place
            ) -> None:
                if in_place:
                    return
                self._sending.discard(t.key)
                if d.ok and d.provider_message_id:
                    st.messages[t.key] = d.provider_message_id  # later updates edit it

            self._outbox.start(
                t.key, make, f"{summary}: {t.channel} {t.target}", done, supersedable=in_place
            )

    async def _deliver(
        self, status: ExceptionStatus, batch: list[tuple[Target, str | None]], summary: str
    ) -> NotifyResult | None:
        """Before ``storm-delivery-per-target``: one notify activity for the grouped
        message, ``(target, message it replaces)`` each. None when it failed: the next
        update tries again; members are kept."""
        st = self._st
        st.sent += 1
        notifications = [_message(status, t, st.sent, replaces) for t, replaces in batch]
        try:
            return await workflow.execute_activity(
                ACTIVITY_NOTIFY,
                NotifyRequest(notifications=notifications),
                result_type=NotifyResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=NOTIFY_RETRY,
                summary=summary,
            )
        except ActivityError:
            return None

    def _details(self, status: ExceptionStatus) -> None:
        st = self._st
        lines = [f"**Storm**: {status.payload['summary']}"]
        if st.notified_roles:
            lines.append(f"**Told**: {', '.join(st.notified_roles)}")
        for e in st.escalations:
            what = "exhausted" if e.exhausted else "escalated"
            lines.append(f"- {e.at:%Y-%m-%d %H:%M} UTC {what}: level {e.level}, {e.role}")
        lines += on_call_lines(list(st.on_call.values()), self._inp.policy)
        workflow.set_current_details("\n".join(lines))
