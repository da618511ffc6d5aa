"""Owner responses from Slack and SMS become workflow updates.

One place that turns "anna acknowledged exc:..." into
``handle.execute_update("acknowledge", AcknowledgeInput(...))`` and the
answer into an `Outcome` a person can read: the update's message when it
was applied, the validator's reason when it was refused ("already resolved
by maria at 10:02", "anna is not in inventory or incident-leads").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from detectors.raising import with_pydantic
from workflows.contracts import (
    AcknowledgeInput,
    AddNoteInput,
    EscalateNowInput,
    ReassignInput,
    ResolveInput,
    SnoozeInput,
    UpdateResult,
)

__all__ = ["Outcome", "ResponseApplier"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


class ResponseApplier:
    def __init__(self, client: Client, answer_within: timedelta = timedelta(seconds=10)) -> None:
        self.client = with_pydantic(client)  # the update inputs and results are pydantic
        # Slack and Twilio give up on a webhook after 3 s / 15 s: never wait for a worker
        # that is down; say so instead.
        self.answer_within = answer_within

    async def acknowledge(self, exception_id: str, actor: str, via: str) -> Outcome:
        return await self._update(
            exception_id, "acknowledge", AcknowledgeInput(actor=actor, via=via)
        )

    async def resolve(
        self, exception_id: str, actor: str, note: str, cause: str | None, via: str
    ) -> Outcome:
        if not note.strip():
            return Outcome(False, "a resolution needs a note: what was done")
        inp = ResolveInput(actor=actor, note=note.strip(), cause=cause or None, via=via)
        return await self._update(exception_id, "resolve", inp)

    async def snooze(self, exception_id: str, actor: str, until: datetime, via: str) -> Outcome:
        return await self._update(
            exception_id, "snooze", SnoozeInput(actor=actor, until=until, via=via)
        )

    async def reassign(self, exception_id: str, actor: str, role: str, via: str) -> Outcome:
        return await self._update(
            exception_id, "reassign", ReassignInput(actor=actor, role=role, via=via)
        )

    async def escalate_now(self, exception_id: str, actor: str, via: str) -> Outcome:
        return await self._update(
            exception_id, "escalate_now", EscalateNowInput(actor=actor, via=via)
        )

    async def note(self, exception_id: str, actor: str, note: str, via: str) -> Outcome:
        return await self._update(
            exception_id, "add_note", AddNoteInput(actor=actor, note=note, via=via)
        )

    async def _update(self, exception_id: str, update: str, inp: BaseModel) -> Outcome:
        handle = self.client.get_workflow_handle(exception_id)
        try:
            result = await handle.execute_update(
                update, inp, result_type=UpdateResult, rpc_timeout=self.answer_within
            )
        except WorkflowUpdateFailedError as err:
            reason = getattr(err.cause, "message", None) or str(err.cause or err)
            log.info("%s %s refused: %s", update, exception_id, reason)
            return Outcome(False, reason)
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            log.warning("%s %s: no answer within %s", update, exception_id, self.answer_within)
            return Outcome(
                False,
                f"escalator did not answer within {self.answer_within.total_seconds():.0f} s "
                "(is a worker running?); it may still apply your request, check before repeating",
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return Outcome(False, f"no open exception {exception_id}")
            log.warning("%s %s: Temporal said %s", update, exception_id, err.message)
            return Outcome(False, f"{exception_id}: {err.message}")
        log.info("%s %s: %s", update, exception_id, result.message)
        return Outcome(True, result.message)
