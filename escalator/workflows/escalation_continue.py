"""When and how an open EscalationWorkflow continues as new (patch ``continue-as-new-open``).

Asked by the escalation loop and by a silence's hold (the routing step). What
is carried is in `escalator/workflows/escalation_carry.py`; how a new run
resumes is in `escalator/workflows/escalation.py`.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalator.workflows.constants import CONTINUE_AS_NEW_OPEN
    from escalator.workflows.escalation_carry import carry
    from escalator.workflows.escalation_inbox import Inbox
    from escalator.workflows.escalation_notify import Notifier
    from escalator.workflows.escalation_publish import Publisher
    from escalator.workflows.escalation_state import EscalationState

__all__ = ["Continuer"]

MIN_RUN_EVENTS = 50  # the smallest history_limit, too
POSTPONE_CONTINUE = 3  # times a busy run handles responses first (see continue_open)


class Continuer:
    def __init__(
        self, history_limit: int, inbox: Inbox, publisher: Publisher, notifier: Notifier
    ) -> None:
        self._history_limit = history_limit
        self._inbox = inbox
        self._publisher = publisher
        self._notifier = notifier
        self._postponed = 0  # continue-as-new put off because responses were arriving

    def history_full(self) -> bool:
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

    async def continue_open(
        self, s: EscalationState, held: dict[str, Any] | None = None, holding: str | None = None
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
        self._publisher.publish(s)
        if not await self._notifier.settle(s, final=False):
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
                inbox=self._inbox.pairs(),
                history_limit=self._history_limit,
                held=held,
                holding=holding,
            )
        )
