"""The `escalator` command: one Typer app; each area registers its own commands."""

from __future__ import annotations

import typer

from escalator.cli import (
    detect,
    digest,
    exceptions,
    mine,
    policy,
    predict,
    receiver,
    records,
    responses,
    silence,
    stack,
    storm,
)
from escalator.cli.errors import EXIT_CODES_HELP

__all__ = ["app", "main"]

app = typer.Typer(
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
    receiver,
    silence,
    digest,
    storm,
    mine,
    predict,
):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
