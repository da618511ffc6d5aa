"""The `escalator` command: one Typer app; each area registers its own commands."""

from __future__ import annotations

import typer

from workers import (
    cli_detect,
    cli_digest,
    cli_exceptions,
    cli_mine,
    cli_policy,
    cli_predict,
    cli_receiver,
    cli_records,
    cli_responses,
    cli_silence,
    cli_stack,
    cli_storm,
)
from workers.cli_errors import EXIT_CODES_HELP

__all__ = ["app", "main"]

app = typer.Typer(
    name="escalator",
    help="Exception-driven operations automation on Temporal.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for module in (
    cli_policy,
    cli_stack,
    cli_exceptions,
    cli_responses,
    cli_records,
    cli_detect,
    cli_receiver,
    cli_silence,
    cli_digest,
    cli_storm,
    cli_mine,
    cli_predict,
):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
