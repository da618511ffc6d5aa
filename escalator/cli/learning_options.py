"""The learning loop's options of a resolution, shared by `escalator resolve` and
`escalator storm resolve`: a cause code and whether the exception was real."""

from __future__ import annotations

from typing import Annotated

import typer

from escalator.cli.temporal import say

__all__ = ["CauseOpt", "ConfirmedOpt", "FalseAlarmOpt", "real_from"]

CauseOpt = Annotated[str | None, typer.Option(help="Cause code, e.g. stock_sync.")]
FalseAlarmOpt = Annotated[
    bool, typer.Option("--false-alarm", help="The exception was not real: a false alarm.")
]
ConfirmedOpt = Annotated[
    bool, typer.Option("--confirmed", help="The exception was real (confirmed).")
]


def real_from(false_alarm: bool, confirmed: bool) -> bool | None:
    """False for a false alarm, True when confirmed, None when not said; both: usage error."""
    if false_alarm and confirmed:
        say("--false-alarm and --confirmed contradict each other: give one")
    return False if false_alarm else (True if confirmed else None)
