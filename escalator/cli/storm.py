"""`escalator storm ack | resolve`: answer a whole storm from a shell.

    escalator storm ack storm:orderToShip:awaiting_inventory:inventory --as anna
    escalator storm resolve storm:orderToShip:awaiting_inventory:inventory --as anna \\
        --note "warehouse NL2 back online" [--cause stock_sync] [--false-alarm | --confirmed]

The same path as the grouped message's buttons (`escalator/receiver/storm_responses.py`): the
storm's validator decides whether you may answer it, then every open member is
answered. A refusal prints the reason and exits 1; so does a storm where no member
could be answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

import typer
from temporalio.client import Client

# The exception commands' Temporal plumbing: one client, one exit that survives the
# SDK's teardown abort (temporalio/sdk-python#300), --timeout and its one-line answer.
from escalator.cli.exceptions import _exit, _fail
from escalator.cli.learning_options import CauseOpt, ConfirmedOpt, FalseAlarmOpt, real_from
from escalator.cli.temporal import DEFAULT_TIMEOUT, TimeoutOpt, run
from escalator.receiver.storm_responses import Learned, StormOutcome, StormResponder
from escalator.settings import Settings
from escalator.temporal_outage import pollers

__all__ = ["register", "storm_app"]

storm_app = typer.Typer(
    name="storm",
    help="Answer a storm (storm control's grouped exceptions) in one go.",
    no_args_is_help=True,
)
Actor = Annotated[str, typer.Option("--as", help="Your member name in the policy.")]


def register(app: typer.Typer) -> None:
    app.add_typer(storm_app, name="storm")


def _answer(
    work: Callable[[StormResponder], Awaitable[StormOutcome]], storm_id: str, timeout: float
) -> StormOutcome:
    """The storm's answer within --timeout, or one line on who polls (exit 4)."""
    settings = Settings()

    async def go(client: Client) -> StormOutcome:
        # The responder's own wait is longer: --timeout (below) decides, in one place.
        return await work(StormResponder(client, answer_within=timedelta(seconds=timeout + 60)))

    async def no_answer(client: Client) -> str:
        seen = await pollers(client, settings.temporal_task_queue)
        return (
            f"{seen.sentence()}; your answer to {storm_id} may be held for the next worker, "
            "and some members may be answered already: check `escalator status` of a member "
            "before repeating (a repeat is refused by members already answered)"
        )

    return run(go, timeout=timeout, no_answer=no_answer, settings=settings)


def _report(outcome: StormOutcome) -> None:
    if not outcome.ok:
        _fail(outcome.message, 1)
    print(outcome.message)
    _exit(1 if outcome.refused and not outcome.done else 0)


@storm_app.command("ack")
def ack_command(storm_id: str, actor: Actor, timeout: TimeoutOpt = DEFAULT_TIMEOUT) -> None:
    """Acknowledge the storm (its escalation stops) and every open exception in it."""
    _report(_answer(lambda r: r.acknowledge_all(storm_id, actor, "cli"), storm_id, timeout))


@storm_app.command("resolve")
def resolve_command(
    storm_id: str,
    actor: Actor,
    note: Annotated[str, typer.Option(help="What was done (every exception gets it).")],
    cause: CauseOpt = None,
    false_alarm: FalseAlarmOpt = False,
    confirmed: ConfirmedOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Resolve every open exception of the storm with one note (and optionally a cause
    code, and whether it was real: every exception records them)."""
    if not note.strip():
        _fail("--note must say what was done")
    learned = Learned(cause=(cause or "").strip() or None, real=real_from(false_alarm, confirmed))
    _report(
        _answer(lambda r: r.resolve_all(storm_id, actor, note, "cli", learned), storm_id, timeout)
    )
