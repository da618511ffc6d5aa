"""Acknowledge all / resolve all: one answer to a storm becomes an answer to each member.

The storm's own update decides first whether this member may answer the storm at all
(members of the roles it told, or of the incident-lead role), so a stranger gets one
clear refusal instead of 500. Acknowledging the storm stops its escalation. Then every
open member gets the same update a single click would send, many at a time (never 500
round trips one after the other), and each member's validator still has the last word
("already acknowledged by bob"). The result is one sentence a person reads.

Used by the Slack receiver (after Slack has been answered) and by `escalator storm`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from escalator.client import refusals, with_pydantic
from escalator.errors import RefusedError
from escalator.receiver.responses import Outcome, ResponseApplier
from escalator.workflows.storm_contracts import (
    STORM_OVER,
    StormAckInput,
    StormAnswer,
    StormResolveInput,
    StormState,
)

__all__ = ["Learned", "StormOutcome", "StormResponder", "fan_out"]

log = logging.getLogger(__name__)
CONCURRENCY = 50  # member updates in flight at once: 500 members cost ~10 rounds, not 500


@dataclass(frozen=True)
class Learned:
    """What a resolution teaches the learning loop: a cause code, and whether the
    exception was real (False: a false alarm; None: not said). Every member gets it."""

    cause: str | None = None
    real: bool | None = None

    def said(self) -> str:
        """How the result sentence says it: "" when nothing was said."""
        parts = [] if self.real is None else ["false alarms" if not self.real else "confirmed"]
        cause = (self.cause or "").strip()
        if cause:
            parts.append(f"cause {cause}")
        return f" ({', '.join(parts)})" if parts else ""


@dataclass(frozen=True)
class StormOutcome:
    ok: bool
    message: str
    done: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # reason -> members


class StormResponder:
    def __init__(
        self,
        client: Client,
        *,
        concurrency: int = CONCURRENCY,
        answer_within: timedelta = timedelta(seconds=10),
    ) -> None:
        self.client = with_pydantic(client)
        self.members = ResponseApplier(client, answer_within)
        self.concurrency = concurrency
        self.answer_within = answer_within

    async def acknowledge_all(self, storm_id: str, actor: str, via: str) -> StormOutcome:
        asked = await self.ask(storm_id, "acknowledge", StormAckInput(actor=actor, via=via))
        if isinstance(asked, StormOutcome):
            return asked
        return await self.acknowledge_members(asked, actor, via)

    async def acknowledge_members(self, asked: StormAnswer, actor: str, via: str) -> StormOutcome:
        done, refused = await fan_out(
            asked.open_members,
            lambda xid: self.members.acknowledge(xid, actor, via),
            self.concurrency,
        )
        total = len(asked.open_members)
        return _outcome(asked.message, "acknowledged", actor, total, done, refused)

    async def resolve_all(
        self, storm_id: str, actor: str, note: str, via: str, learned: Learned = Learned()
    ) -> StormOutcome:
        asked = await self.ask_resolve(storm_id, actor, note, via)
        if isinstance(asked, StormOutcome):
            return asked
        return await self.resolve_members(asked, actor, note, via, learned)

    async def ask_resolve(
        self, storm_id: str, actor: str, note: str, via: str
    ) -> StormAnswer | StormOutcome:
        """The storm's yes (with its open members) or its reason, before any member is touched."""
        if not note.strip():
            return StormOutcome(False, "a resolution needs a note: what was done")
        inp = StormResolveInput(actor=actor, note=note.strip(), via=via)
        return await self.ask(storm_id, "resolve_all", inp)

    async def resolve_members(
        self, asked: StormAnswer, actor: str, note: str, via: str, learned: Learned = Learned()
    ) -> StormOutcome:
        cause, real = learned.cause, learned.real
        done, refused = await fan_out(
            asked.open_members,
            lambda xid: self.members.resolve(xid, actor, note.strip(), cause, via, real=real),
            self.concurrency,
        )
        total = len(asked.open_members)
        return _outcome(asked.message, "resolved", actor, total, done, refused, learned.said())

    async def ask(self, storm_id: str, update: str, inp: BaseModel) -> StormAnswer | StormOutcome:
        """The storm's answer (its open members), or why there is nothing to fan out."""
        handle = self.client.get_workflow_handle(storm_id)
        try:
            with refusals():
                return await handle.execute_update(
                    update, inp, result_type=StormAnswer, rpc_timeout=self.answer_within
                )
        except RefusedError as err:
            return StormOutcome(False, str(err))
        except WorkflowUpdateFailedError as err:  # failed, not refused: "over" has its own type
            over = isinstance(err.cause, ApplicationError) and err.cause.type == STORM_OVER
            if not over:
                return StormOutcome(
                    False, getattr(err.cause, "message", None) or str(err.cause or err)
                )
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            return StormOutcome(
                False,
                f"escalator did not answer within {self.answer_within.total_seconds():.0f} s "
                "(is a worker running?); check before repeating",
            )
        except RPCError as err:
            # An update to a storm that has ended is refused like one to no storm at all:
            # NOT_FOUND on both servers (escalator/temporal_errors.py, run_ended).
            if err.status != RPCStatusCode.NOT_FOUND:
                return StormOutcome(False, f"{storm_id}: {err.message}")
        return await self._after_the_storm(storm_id)

    async def _after_the_storm(self, storm_id: str) -> StormAnswer | StormOutcome:
        """The storm ended (its message stays in Slack): its open members are still there to
        answer, and each member's validator decides who may."""
        handle = self.client.get_workflow_handle(storm_id, result_type=StormState)
        try:
            described = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return StormOutcome(False, f"no storm {storm_id}")
            return StormOutcome(False, f"{storm_id}: {err.message}")
        # RUNNING: it refused us while closing and completes in a moment.
        if described.status not in (
            WorkflowExecutionStatus.COMPLETED,
            WorkflowExecutionStatus.RUNNING,
        ):
            status = described.status.name if described.status else "unknown"
            return StormOutcome(False, f"storm {storm_id} ended without a result ({status})")
        try:
            state = await asyncio.wait_for(handle.result(), self.answer_within.total_seconds())
        except (TimeoutError, RPCError) as err:
            return StormOutcome(False, f"storm {storm_id} is over; its result is unreadable: {err}")
        done = set(state.resolved)
        members = [m.exception_id for m in state.members if m.exception_id not in done]
        return StormAnswer(message=f"storm {storm_id} is over", open_members=members)


async def fan_out(
    members: list[str], answer: Callable[[str], Awaitable[Outcome]], concurrency: int
) -> tuple[int, Counter[str]]:
    """Answer every member, ``concurrency`` at a time: how many were done, and why not."""
    gate = asyncio.Semaphore(concurrency)

    async def one(xid: str) -> Outcome:
        async with gate:
            return await answer(xid)

    outcomes = await asyncio.gather(*(one(x) for x in members))
    refused = Counter(o.message for o in outcomes if not o.ok)
    return sum(1 for o in outcomes if o.ok), refused


def _outcome(
    head: str,
    verb: str,
    actor: str,
    total: int,
    done: int,
    refused: Counter[str],
    said: str = "",
) -> StormOutcome:
    text = f"{head}; {done} of {total} open exceptions {verb} by {actor}{said}"
    if refused:
        reasons = "; ".join(f"{why} ({n})" for why, n in refused.most_common(3))
        more = len(refused) - 3
        text += f"; {total - done} not: {reasons}" + (
            f" and {more} other reasons" if more > 0 else ""
        )
    log.info(text)
    return StormOutcome(True, text, done, dict(refused))
