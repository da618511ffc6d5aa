"""`escalator ack | resolve | snooze | reassign | escalate | note`: owner responses from a shell.

Each is one workflow update, answered by a worker. None waits longer than ``--timeout``
(default 15 s): with no answer by then, one line says who polls the task queue (usually:
no worker) and how far Temporal got with the request (admitted: applied when a worker
polls; not admitted: nothing changed), exit code 4. A refusal of the exception's
validator ("already resolved by maria") is a RefusedError: `escalator/cli/main.py` prints
its reason and exits 1; Temporal unreachable exits 3 (`escalator/cli/errors.py`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from pydantic import BaseModel
from temporalio.client import Client

from escalator.cli.errors import ExitCode
from escalator.cli.learning_options import CauseOpt, ConfirmedOpt, FalseAlarmOpt, real_from
from escalator.cli.temporal import DEFAULT_TIMEOUT, TimeoutOpt, cli_exit, run, say
from escalator.client import exception_handle, refusals
from escalator.policies.duration import parse_duration
from escalator.settings import Settings
from escalator.temporal_outage import pollers, update_stage, what_became_of
from escalator.workflows.contracts import (
    AcknowledgeInput,
    AddNoteInput,
    EscalateNowInput,
    ReassignInput,
    ResolveInput,
    SnoozeInput,
    UpdateResult,
)

__all__ = ["register", "respond"]

Actor = Annotated[str, typer.Option("--as", help="Your member name in the policy.")]


def register(app: typer.Typer) -> None:
    app.command("ack")(ack_command)
    app.command("resolve")(resolve_command)
    app.command("snooze")(snooze_command)
    app.command("reassign")(reassign_command)
    app.command("escalate")(escalate_command)
    app.command("note")(note_command)


def respond(
    exception_id: str, update: str, inp: BaseModel, request: str, timeout: float
) -> UpdateResult:
    """Send one owner response; end the process with one line unless it was applied."""
    settings = Settings()
    update_id = f"cli-{update}-{uuid.uuid4().hex[:12]}"  # to ask Temporal about it later

    async def work(client: Client) -> UpdateResult:
        handle = exception_handle(client, exception_id)
        # A refusal leaves as RefusedError (exit 1, its reason printed); an update that
        # failed otherwise is no refusal: main() names it as unexpected (escalator/cli/main.py).
        with refusals():
            return await handle.execute_update(update, inp, id=update_id, result_type=UpdateResult)

    async def no_answer(client: Client) -> str:
        stage = await update_stage(client, exception_id, update_id)
        seen = await pollers(client, settings.temporal_task_queue)
        return f"{seen.sentence()}; {what_became_of(stage, request, exception_id)}"

    return run(work, timeout=timeout, no_answer=no_answer, settings=settings)


def _done(result: UpdateResult) -> None:
    print(result.message)
    cli_exit(ExitCode.OK)


def ack_command(exception_id: str, actor: Actor, timeout: TimeoutOpt = DEFAULT_TIMEOUT) -> None:
    """Acknowledge an exception: you own it now."""
    inp = AcknowledgeInput(actor=actor, via="cli")
    _done(respond(exception_id, "acknowledge", inp, "acknowledgement", timeout))


def resolve_command(
    exception_id: str,
    actor: Actor,
    note: Annotated[str, typer.Option(help="What was done.")],
    cause: CauseOpt = None,
    false_alarm: FalseAlarmOpt = False,
    confirmed: ConfirmedOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Resolve an exception with a note (and optionally a cause code, and whether it was real)."""
    if not note.strip():
        say("--note must say what was done")
    real = real_from(false_alarm, confirmed)
    inp = ResolveInput(actor=actor, note=note, cause=cause, via="cli", real=real)
    _done(respond(exception_id, "resolve", inp, "resolution", timeout))


def snooze_command(
    exception_id: str,
    actor: Actor,
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 30m or 2h.")],
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Snooze an exception: no reminders or escalation until then."""
    try:
        until = datetime.now(UTC) + parse_duration(for_)
    except ValueError as err:
        say(f"--for {for_!r}: {err}")
    inp = SnoozeInput(actor=actor, until=until, via="cli")
    _done(respond(exception_id, "snooze", inp, "snooze", timeout))


def reassign_command(
    exception_id: str,
    actor: Actor,
    role: Annotated[str, typer.Option("--to", help="The owner role to hand it to.")],
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Hand an exception to another owner role (it is paged now)."""
    inp = ReassignInput(actor=actor, role=role, via="cli")
    _done(respond(exception_id, "reassign", inp, "reassignment", timeout))


def escalate_command(
    exception_id: str, actor: Actor, timeout: TimeoutOpt = DEFAULT_TIMEOUT
) -> None:
    """Escalate to the next level now instead of waiting for the response time."""
    inp = EscalateNowInput(actor=actor, via="cli")
    _done(respond(exception_id, "escalate_now", inp, "escalation", timeout))


def note_command(
    exception_id: str,
    actor: Actor,
    text: Annotated[str, typer.Option("--text", help="The note.")],
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Add a note to an exception's timeline (an acknowledged one: it counts as progress)."""
    if not text.strip():
        say("--text must not be empty")
    inp = AddNoteInput(actor=actor, note=text, via="cli")
    _done(respond(exception_id, "add_note", inp, "note", timeout))
