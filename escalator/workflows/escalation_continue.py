"""When and how an open EscalationWorkflow continues as new (patch ``continue-as-new-open``).

A base class of the workflow, below the routing step in its MRO, so both the
escalation loop and a silence's hold can continue as new. What is carried is
in `escalator/workflows/escalation_carry.py`; how a new run resumes is in
`escalator/workflows/escalation.py`.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.workflows.escalation_carry import carry
    from escalator.workflows.escalation_steps import EscalationSteps

__all__ = ["CONTINUE_AS_NEW_OPEN", "EscalationContinue"]

# workflow.patched id: an open exception continues as new before its history is full.
CONTINUE_AS_NEW_OPEN = "continue-as-new-open"
MIN_RUN_EVENTS = 50  # the smallest history_limit, too
POSTPONE_CONTINUE = 3  # times a busy run handles responses first (see _continue_open)


class EscalationContinue(EscalationSteps):
    _history_limit: int
    _postponed = 0  # continue-as-new put off because responses were arriving
    # Kept by the routing step (a subclass) and storm control (a sibling base): carried too.
    _routing_v2: bool
    _headline: str
    _storm_id: str | None

    def _history_full(self) -> bool:
        """Time to continue as new (patched): the run reached its limit, or the server
        suggests it.

        The suggestion counts only after a few pages: a run told to continue as soon as it
        starts (its carried input alone near the size threshold) would do so forever.
        """
        info = workflow.info()
        length = info.get_current_history_length()
        if length >= self._history_limit:
            full = True
        else:
            full = length >= MIN_RUN_EVENTS and info.is_continue_as_new_suggested()
        # Only asked when full: a run of older code replays with no marker here, so it
        # keeps running as before (patched stays False for the rest of that run).
        return full and workflow.patched(CONTINUE_AS_NEW_OPEN)

    async def _continue_open(
        self, held: dict[str, Any] | None = None, holding: str | None = None
    ) -> None:
        """Record what is pending, let running handlers finish, continue as new while open.

        Nothing awaits between taking the state and continuing, so no response can fall
        between the two runs. A response that arrived meanwhile is handled in this run
        first (the caller comes back here): completing an update in the same workflow task
        as the continue-as-new has been seen to deliver it to the new run a second time.
        Only a few times, though: responses arriving faster than a record is written must
        not hold the run open until its history is full; then the inbox is carried. While
        a silence holds the exception (``held``) nobody handles the inbox until it pages,
        so it is carried at once.
        """
        s = self._s
        self._publish()
        if not await self._settle(final=False):
            return  # a message is still on its way: continue at a later wake, never wait here
        await workflow.wait_condition(workflow.all_handlers_finished)
        if s.resolved:  # this run tells everyone and keeps the reopen window
            return
        if self._inbox and self._postponed < POSTPONE_CONTINUE and held is None:
            self._postponed += 1
            return
        workflow.continue_as_new(
            carry(
                s,
                inbox=self._inbox,
                routing_v2=self._routing_v2,
                headline=self._headline,
                storm_id=self._storm_id,
                history_limit=self._history_limit,
                held=held,
                holding=holding,
            )
        )
