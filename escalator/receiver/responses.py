"""Owner responses from Slack and SMS become workflow updates.

One place that turns "anna acknowledged exc:..." into
``handle.execute_update("acknowledge", AcknowledgeInput(...))`` and the
answer into an `Outcome` a person can read: the update's message when it
was applied, the validator's reason when it was refused ("already resolved
by maria at 10:02", "anna is not in inventory or incident-leads").
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from escalator.client import refusals, with_pydantic
from escalator.errors import RefusedError
from escalator.receiver.ready import outage_sentence
from escalator.temporal_outage import pollers, unreachable_reason, update_stage, what_became_of
from escalator.workflows.contracts import (
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
REQUESTS = {
    "acknowledge": "acknowledgement",
    "resolve": "resolution",
    "snooze": "snooze",
    "reassign": "reassignment",
    "escalate_now": "escalation",
    "add_note": "note",
}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


class ResponseApplier:
    def __init__(
        self,
        client: Client,
        answer_within: timedelta = timedelta(seconds=10),
        *,
        task_queue: str | None = None,
    ) -> None:
        self.client = with_pydantic(client)  # the update inputs and results are pydantic
        # Slack and Twilio give up on a webhook after 3 s / 15 s: never wait for a worker
        # that is down; say so instead.
        self.answer_within = answer_within
        self.task_queue = task_queue  # to say who polls it when no worker answers

    async def acknowledge(self, exception_id: str, actor: str, via: str) -> Outcome:
        return await self._update(
            exception_id, "acknowledge", AcknowledgeInput(actor=actor, via=via)
        )

    async def resolve(
        self,
        exception_id: str,
        actor: str,
        note: str,
        cause: str | None,
        via: str,
        real: bool | None = None,
    ) -> Outcome:
        if not note.strip():
            return Outcome(False, "a resolution needs a note: what was done")
        inp = ResolveInput(
            actor=actor, note=note.strip(), cause=(cause or "").strip() or None, via=via, real=real
        )
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
        update_id = f"{inp.model_dump().get('via', 'x')}-{update}-{uuid.uuid4().hex[:12]}"
        try:
            with refusals():
                result = await handle.execute_update(
                    update,
                    inp,
                    id=update_id,
                    result_type=UpdateResult,
                    rpc_timeout=self.answer_within,
                )
        except RefusedError as err:
            log.info("%s %s refused: %s", update, exception_id, err)
            return Outcome(False, str(err))
        except WorkflowUpdateFailedError as err:  # failed, not refused: still one clear answer
            reason = getattr(err.cause, "message", None) or str(err.cause or err)
            log.warning("%s %s failed: %s", update, exception_id, reason)
            return Outcome(False, reason)
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            log.warning("%s %s: no answer within %s", update, exception_id, self.answer_within)
            return Outcome(False, await self._no_answer(exception_id, update, update_id))
        except (RPCError, RuntimeError) as err:
            if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
                return Outcome(False, f"no open exception {exception_id}")
            down = unreachable_reason(err)
            if down is not None:  # Temporal itself is not there: nothing was kept
                log.warning("%s %s: cannot reach Temporal: %s", update, exception_id, down)
                return Outcome(False, outage_sentence(self._address(), down))
            if not isinstance(err, RPCError):
                raise
            log.warning("%s %s: Temporal said %s", update, exception_id, err.message)
            return Outcome(False, f"{exception_id}: {err.message}")
        log.info("%s %s: %s", update, exception_id, result.message)
        return Outcome(True, result.message)

    async def _no_answer(self, exception_id: str, update: str, update_id: str) -> str:
        waited = f"escalator did not answer within {self.answer_within.total_seconds():.0f} s"
        stage = await update_stage(self.client, exception_id, update_id)
        who = (
            (await pollers(self.client, self.task_queue)).sentence()
            if self.task_queue
            else "is a worker running?"
        )
        request = REQUESTS.get(update, update.replace("_", " "))
        return f"{waited} ({who}); {what_became_of(stage, request, exception_id)}"

    def _address(self) -> str:
        return str(self.client.service_client.config.target_host)
