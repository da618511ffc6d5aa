"""The `escalator` command: one Typer app; each area registers its own commands.

Where a command ends that did not end itself (`escalator/cli/errors.py`): an
EscalatorError, in the root command, as one line and its branch's exit code (there, so
that CliRunner sees it as a user does); anything else, in ``main()``, as one line naming
it and exit 70. A user never sees a traceback unless ESCALATOR_DEBUG is set.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from escalator.cli import (
    alerts,
    detect,
    digest,
    exceptions,
    mine,
    oncall,
    policy,
    predict,
    receiver,
    records,
    responses,
    review,
    scorecard,
    silence,
    slo,
    stack,
    storm,
    suggest,
)
from escalator.cli.errors import EXIT_CODES_HELP, leave, report
from escalator.cli.temporal import sdk_ran
from escalator.errors import EscalatorError

__all__ = ["app", "main"]


class _Escalator(TyperGroup):
    """The root command: an EscalatorError from any command ends here."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EscalatorError as err:
            # An exit, not os._exit: a test's CliRunner runs this in its own process;
            # main() leaves without teardown where that matters.
            raise typer.Exit(report(err)) from err


app = typer.Typer(
    cls=_Escalator,
    name="escalator",
    help="Exception-driven operations automation on Temporal.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for module in (
    policy,
    stack,
    exceptions,
    responses,
    records,
    detect,
    scorecard,
    receiver,
    silence,
    digest,
    storm,
    mine,
    suggest,
    predict,
    oncall,
    review,
    slo,
    alerts,
):
    module.register(app)


def main() -> None:
    # Leaving without interpreter teardown where the Temporal SDK may have run: its runtime
    # can abort at exit and turn the exit code into 134 (see leave()). Whatever the command
    # opened was closed as the error unwound through it.
    try:
        app()
    except SystemExit as done:  # e.g. an EscalatorError's exit, after the SDK ran
        if sdk_ran() and isinstance(done.code, int):
            leave(done.code)
        raise
    except Exception as err:  # not an EscalatorError (those end in _Escalator): a bug
        leave(report(err))


if __name__ == "__main__":
    main()
