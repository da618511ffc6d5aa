"""StormWorkflow: one per (journey, rule, owner role) while the rule storms.

It counts the individual first pages of its rule for its role. Up to the
policy's ``threshold`` within ``window`` each exception pages alone; after
that every new exception joins the storm, and the role gets ONE grouped
message that counts and lists them, updated in place ("512 exceptions of
awaiting_inventory, first at …, newest …") at most every ``update_every``.
Once the rule has been quiet for ``window`` the storm sends a last update and
ends; the next exception of the rule starts counting afresh.

Since the ``storm-escalation`` patch the loop lives in `StormEscalation`
(escalator/workflows/storm_escalation.py): the grouped message is the storm's page and
escalates level by level until someone acknowledges the storm; the loop below
is kept for storms recorded before it.

Deterministic: registrations arrive as updates (the storm-gate activity does
update-with-start), resolutions of grouped exceptions as signals.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from escalator.policies.duration import format_duration
    from escalator.workflows.contracts import ExceptionState, ExceptionStatus
    from escalator.workflows.delivery import Outbox
    from escalator.workflows.storm_contracts import (
        REGISTRATIONS_PER_RUN,
        RUN_FULL,
        STORM_ESCALATION,
        STORM_OVER,
        STORM_RUNS,
        STORM_WORKFLOW,
        StormInput,
        StormMemberClosed,
        StormRegistration,
        StormState,
        StormVerdict,
        storm_id,
    )
    from escalator.workflows.storm_escalation import StormEscalation
    from escalator.workflows.storm_levels import LISTED, ack_due, route, storm_summary
    from escalator.workflows.targets import role_targets

__all__ = ["StormWorkflow", "storm_summary"]


@workflow.defn(name=STORM_WORKFLOW)
class StormWorkflow(StormEscalation):
    @workflow.init
    def __init__(self, inp: StormInput) -> None:
        self._inp = inp
        self._st = inp.state.model_copy(deep=True)
        if self._st.routing is None and (self._st.paged or self._st.members):
            # Carried from a run before routing was kept: everything in it was paged.
            self._st.routing = "page"
        self._dirty = self._st.pending  # joined just before the last run continued as new
        self._closing = False  # the storm is over: a late exception starts the next one
        self._registered = 0  # registrations in this run (Temporal: 2,000 updates per run)
        self._outbox = Outbox()
        self._full = False
        self._sending: set[str] = set()
        # Position of each member: answers a retried registration without a verdict each.
        self._index = {m.exception_id: i for i, m in enumerate(self._st.members)}

    @workflow.update
    def register(self, req: StormRegistration) -> StormVerdict:
        st, control, now = self._st, self._control, workflow.now()
        st.last_seen = now
        known = st.verdicts.get(req.member.exception_id) or self._grouped_before(req)
        if known is not None:  # a retried activity asks again: same answer
            return known
        self._registered += 1
        if route(st, req.member.routing) and st.ack_due is not None:
            # A page-routed exception joined a storm of notifications: the current level is
            # paged loudly with the next update (`_unreached`) and must answer as for a page.
            st.ack_due = min(st.ack_due, ack_due(self._inp.policy, st.level, now, st))
        sid = storm_id(self._inp.journey, self._inp.rule, self._inp.role)
        st.paged = [t for t in st.paged if now - t < control.window]
        if not st.members and len(st.paged) < control.threshold:
            st.paged.append(now)
            verdict = StormVerdict(
                action="page",
                storm_id=sid,
                reason=f"{len(st.paged)} of {control.threshold} individual first pages "
                f"within {format_duration(control.window)}",
                paged_in_window=len(st.paged),
            )
        else:
            self._index[req.member.exception_id] = len(st.members)
            st.members.append(req.member)
            self._dirty = True
            verdict = self._grouped(len(st.members))
            if workflow.patched(STORM_RUNS):
                return verdict  # the member list remembers it (see _grouped_before)
        st.verdicts[req.member.exception_id] = verdict
        return verdict

    def _grouped(self, number: int) -> StormVerdict:
        control = self._control
        return StormVerdict(
            action="grouped",
            storm_id=storm_id(self._inp.journey, self._inp.rule, self._inp.role),
            reason=f"storm: more than {control.threshold} first pages of {self._inp.rule} "
            f"for {self._inp.role} within {format_duration(control.window)}; "
            f"grouped as number {number}",
            grouped=number,
            paged_in_window=len(self._st.paged),
        )

    def _grouped_before(self, req: StormRegistration) -> StormVerdict | None:
        at = self._index.get(req.member.exception_id)
        return None if at is None else self._grouped(at + 1)

    @register.validator
    def _still_open(self, req: StormRegistration) -> None:
        known = (
            req.member.exception_id in self._st.verdicts or req.member.exception_id in self._index
        )
        if self._closing and not known:
            # Refused before it reaches history; the gate activity retries and then
            # starts the next storm, instead of joining one that tells nobody any more.
            raise ApplicationError("this storm is over; ask again", type=STORM_OVER)
        if self._registered >= REGISTRATIONS_PER_RUN and not known:
            # The run is full and about to continue as new, but it may be awaiting its
            # notify activity (minutes behind thousands of members' activities) meanwhile.
            # Accepting more ran a 5,000-member storm into Temporal's 2,000 updates per run
            # and a history too long to replay within the workflow task timeout. Refused
            # before history (validators do not run on replay); the gate asks again.
            raise ApplicationError("this storm run is full; ask again", type=RUN_FULL)

    @workflow.signal
    def member_closed(self, inp: StormMemberClosed) -> None:
        if inp.exception_id not in self._st.resolved:
            self._st.resolved.append(inp.exception_id)
            self._dirty = bool(self._st.members)

    @workflow.query
    def state(self) -> StormState:
        return self._st

    @workflow.run
    async def run(self, inp: StormInput) -> StormState:
        st, control = self._st, self._control
        if workflow.patched(STORM_ESCALATION):
            await (
                self._run_escalating()
            )  # escalates level by level (escalator/workflows/storm_escalation.py)
            return st
        while True:
            quiet_until = (st.last_seen or workflow.now()) + control.window
            remaining = quiet_until - workflow.now()
            if not self._dirty and remaining > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self._dirty,
                        timeout=remaining,
                        timeout_summary=f"storm ends after {format_duration(control.window)} quiet",
                    )
            if self._dirty:
                # Let joiners gather, so 500 of them cost a handful of message updates.
                await workflow.sleep(control.update_every, summary="collect storm members")
                self._dirty = False
                await self._tell()
            elif workflow.now() >= (st.last_seen or workflow.now()) + control.window:
                self._closing = True
                await workflow.wait_condition(workflow.all_handlers_finished)
                break  # the last message below counts whoever joined until now
            if self._run_full():
                await self._continue_as_new()
        if st.members:
            await self._tell(over=True)
        return st

    async def _tell(self, *, over: bool = False) -> None:
        """Send the grouped message, or update it in place."""
        st, inp = self._st, self._inp
        if not st.members:
            return
        policy, now = inp.policy, workflow.now()
        level = policy.escalation.levels[0]
        targets, _ = role_targets(policy, inp.role, level.channels, now)
        summary = storm_summary(inp, st, over=over)
        members = st.members
        all_done = len(set(st.resolved)) >= len(members)
        status = ExceptionStatus(
            exception_id=storm_id(inp.journey, inp.rule, inp.role),
            journey=inp.journey,
            rule=inp.rule,
            kind=policy.rule.kind,
            subject=f"{len(members)} subjects",
            severity=policy.rule.severity,
            state=ExceptionState.RESOLVED if all_done else ExceptionState.OPEN,
            level=1,
            owner_role=inp.role,
            notified_roles=[inp.role],
            occurrences=len(members),
            onset=min(m.onset for m in members),
            detected_at=min(m.detected_at for m in members),
            policy_version=policy.version,
            payload={
                "storm": True,
                "summary": summary,
                "count": len(members),
                "resolved": len(set(st.resolved)),
                "subjects": [m.subject for m in members[:LISTED]],
                "exception_ids": [m.exception_id for m in members[:LISTED]],
            },
        )
        result = await self._deliver(
            status,
            [(t, st.messages.get(t.key)) for t in targets],
            f"storm: {len(members)} exceptions of {inp.rule} to {inp.role}",
        )
        if result is None:
            return  # the next update tries again; members are kept
        for t, d in zip(targets, result.deliveries, strict=True):
            if d.ok and d.provider_message_id and t.key not in st.messages:
                st.messages[t.key] = d.provider_message_id
        workflow.set_current_details(f"**Storm**: {summary}")
