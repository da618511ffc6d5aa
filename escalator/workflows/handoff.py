"""HandoffWorkflow: one per role with a schedule or rotation; a message at each hand-off.

The loop: ask an activity when the member on call next changes (schedule, overrides
and vacations as the records say now), sleep until then, and post the hand-off
message through a second activity, which reads who is on call at that moment again.
The records may change while the workflow sleeps, so it never sleeps longer than
``recheck_every`` before asking again: an override made meanwhile that brings a
hand-off forward gets its message (late by at most that long, saying so by its time),
and one that cancels the foreseen hand-off posts nothing.

After each hand-off, and before its history grows long, the workflow continues as new
with what it announced last. The role's policy arrives in the input and, when the
policies change, by the ``role_changed`` signal (the worker signals it at start).
Deterministic: time from ``workflow.now()``, the records only through activities.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalator.policies.roles import OwnerRole
    from escalator.workflows.constants import DELIVER_RETRY, QUICK_RETRY
    from escalator.workflows.handoff_contracts import (
        ACTIVITY_NEXT_HANDOFF,
        ACTIVITY_POST_HANDOFF,
        HANDOFF_WORKFLOW,
        ROLE_SIGNAL,
        HandoffInput,
        HandoffPosted,
        HandoffStatus,
        NextHandoff,
        NextHandoffRequest,
        PostHandoff,
        RoleChanged,
    )

__all__ = ["HandoffWorkflow"]

HISTORY_LIMIT = 1_000  # events before the workflow continues as new while it waits
ASK_TIMEOUT = timedelta(seconds=30)
POST_TIMEOUT = timedelta(minutes=2)


@workflow.defn(name=HANDOFF_WORKFLOW)
class HandoffWorkflow:
    def __init__(self) -> None:
        self._changed: RoleChanged | None = None
        self._status: HandoffStatus | None = None

    @workflow.signal(name=ROLE_SIGNAL)
    def role_changed(self, change: RoleChanged) -> None:
        self._changed = change

    @workflow.query(name="status")
    def status(self) -> HandoffStatus | None:
        return self._status

    @workflow.run
    async def run(self, inp: HandoffInput) -> None:
        role, version = inp.role, inp.policy_version
        announced = inp.announced_until or workflow.now()
        last = inp.last_member
        while True:
            if self._changed is not None:
                role, version = self._changed.role, self._changed.policy_version
                self._changed = None
            nxt = await self._next(role, announced)
            self._status = HandoffStatus(
                role=role.name, announced_until=announced, last_member=last, next_at=nxt.at
            )
            if nxt.at is None or nxt.at > workflow.now():
                await self._sleep(role.name, nxt, inp.recheck_every)
                if self._changed is None and workflow.info().get_current_history_length() > (
                    HISTORY_LIMIT
                ):
                    self._continue(inp, role, version, announced, last)
                continue  # ask again: the records (or the role) may have changed meanwhile
            posted = await self._post(role, nxt.at, last, version)
            announced = nxt.at
            if posted.posted:
                last = posted.member
            self._continue(inp, role, version, announced, last)

    async def _next(self, role: OwnerRole, after: datetime) -> NextHandoff:
        try:
            return await workflow.execute_activity(
                ACTIVITY_NEXT_HANDOFF,
                NextHandoffRequest(role=role, after=after, now=workflow.now()),
                result_type=NextHandoff,
                start_to_close_timeout=ASK_TIMEOUT,
                retry_policy=QUICK_RETRY,
                summary=f"next hand-off of {role.name}",
            )
        except ActivityError as err:  # the records out of reach: ask again after a while
            workflow.logger.warning("next hand-off of %s not known: %s", role.name, err.cause)
            workflow.set_current_details(
                f"Next hand-off for {role.name} unknown (asking again soon): {err.cause}"
            )
            return NextHandoff()

    async def _sleep(self, role: str, nxt: NextHandoff, recheck: timedelta) -> None:
        wait = recheck if nxt.at is None else min(nxt.at - workflow.now(), recheck)
        if nxt.at is not None:
            workflow.set_current_details(
                f"Next hand-off for {role}: {nxt.member or 'nobody'} at "
                f"{nxt.at:%Y-%m-%d %H:%M} UTC (asking the records again every {recheck})"
            )
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._changed is not None,
                timeout=wait,
                timeout_summary="until the hand-off (or the next look at the records)",
            )

    async def _post(
        self, role: OwnerRole, at: datetime, last: str | None, version: str
    ) -> HandoffPosted:
        posted = await workflow.execute_activity(
            ACTIVITY_POST_HANDOFF,
            PostHandoff(role=role, at=at, previous_member=last, policy_version=version),
            result_type=HandoffPosted,
            start_to_close_timeout=POST_TIMEOUT,
            retry_policy=DELIVER_RETRY,
            summary=f"hand-off message for {role.name}",
        )
        workflow.set_current_details(
            f"Hand-off for {role.name} at {at:%Y-%m-%d %H:%M} UTC: "
            + (posted.text if posted.posted else posted.skipped or posted.error or "not posted")
        )
        return posted

    def _continue(
        self,
        inp: HandoffInput,
        role: OwnerRole,
        version: str,
        announced: datetime,
        last: str | None,
    ) -> None:
        if self._changed is not None:  # a policy that came with this task is carried
            role, version = self._changed.role, self._changed.policy_version
        workflow.continue_as_new(
            inp.model_copy(
                update={
                    "role": role,
                    "policy_version": version,
                    "announced_until": announced,
                    "last_member": last,
                }
            )
        )
