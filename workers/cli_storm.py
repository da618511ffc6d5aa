"""`escalator storm ack | resolve`: answer a whole storm from a shell.

    escalator storm ack storm:orderToShip:awaiting_inventory:inventory --as anna
    escalator storm resolve storm:orderToShip:awaiting_inventory:inventory --as anna \\
        --note "warehouse NL2 back online"

The same path as the grouped message's buttons (`workers/storm_responses.py`): the
storm's validator decides whether you may answer it, then every open member is
answered. A refusal prints the reason and exits 1; so does a storm where no member
could be answered.
"""

from __future__ import annotations

from typing import Annotated

import typer

# The exception commands' Temporal plumbing: one client, one exit that survives the
# SDK's teardown abort (temporalio/sdk-python#300).
from workers.cli_exceptions import _client, _exit, _fail, _run
from workers.settings import Settings
from workers.storm_responses import StormOutcome, StormResponder

__all__ = ["register", "storm_app"]

storm_app = typer.Typer(
    name="storm",
    help="Answer a storm (storm control's grouped exceptions) in one go.",
    no_args_is_help=True,
)
Actor = Annotated[str, typer.Option("--as", help="Your member name in the policy.")]


def register(app: typer.Typer) -> None:
    app.add_typer(storm_app, name="storm")


def _report(outcome: StormOutcome) -> None:
    if not outcome.ok:
        _fail(outcome.message, 1)
    print(outcome.message)
    _exit(1 if outcome.refused and not outcome.done else 0)


@storm_app.command("ack")
def ack_command(storm_id: str, actor: Actor) -> None:
    """Acknowledge the storm (its escalation stops) and every open exception in it."""

    async def go() -> StormOutcome:
        responder = StormResponder(await _client(Settings()))
        return await responder.acknowledge_all(storm_id, actor, "cli")

    _report(_run(go()))


@storm_app.command("resolve")
def resolve_command(
    storm_id: str,
    actor: Actor,
    note: Annotated[str, typer.Option(help="What was done (every exception gets it).")],
) -> None:
    """Resolve every open exception of the storm with one note."""
    if not note.strip():
        _fail("--note must say what was done")

    async def go() -> StormOutcome:
        responder = StormResponder(await _client(Settings()))
        return await responder.resolve_all(storm_id, actor, note, "cli")

    _report(_run(go()))
