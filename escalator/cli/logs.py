"""How every command that reads an event log admits it: the shared options and the check.

`detect`, `scorecard`, `report`, `predict train|evaluate` and `mine` read logs the same
way: a log that yields no events, or more quarantined rows than ``--max-quarantine``
(default 1 %), ends the command with exit 2 and the most frequent reasons with their
lines, unless ``--allow-quarantine`` (then the summary is a warning on stderr).
A log admitted that way may still leave the command nothing to work on (every row
quarantined): the library's InputError then ends it the same way, naming the file
(``naming_the_log``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from escalator.cli.errors import fail
from escalator.detectors.events import ReadResult
from escalator.detectors.log_checks import DEFAULT_MAX_QUARANTINE, admit
from escalator.detectors.log_errors import LogRejectedError
from escalator.errors import InputError
from escalator.policies.journeys import Journey
from escalator.policies.policy_set import PolicySet

__all__ = [
    "AllowQuarantine",
    "AssumeTimezone",
    "LogChecks",
    "MaxQuarantine",
    "admit_log",
    "naming_the_log",
]

MaxQuarantine = Annotated[
    float,
    typer.Option(
        "--max-quarantine",
        min=0.0,
        max=1.0,
        help="Refuse the log when more than this share of its rows is quarantined (0.01 = 1 %).",
    ),
]
AllowQuarantine = Annotated[
    bool,
    typer.Option(
        "--allow-quarantine",
        help="Judge the rest even when the log has no events or too many quarantined rows.",
    ),
]
AssumeTimezone = Annotated[
    str | None,
    typer.Option(
        "--assume-timezone",
        help="IANA zone of timestamps written without an offset (overrides the journey's timezone).",
    ),
]


@dataclass(frozen=True)
class LogChecks:
    max_quarantine: float = DEFAULT_MAX_QUARANTINE
    allow_quarantine: bool = False


def admit_log(
    read: ReadResult,
    journey: Journey,
    policies: PolicySet | None,
    checks: LogChecks,
    quarantine_file: Path | None = None,
) -> None:
    """Exit 2 with the reasons when the log is not fit to judge; warn when rows were set aside."""
    zone = None
    if journey.calendar and policies is not None:
        zone = policies.calendar(journey.calendar).timezone
    try:
        summary = admit(
            read,
            max_quarantine=checks.max_quarantine,
            allow_quarantine=checks.allow_quarantine,
            journey=journey,
            calendar_zone=zone,
            quarantine_file=str(quarantine_file) if quarantine_file else None,
        )
    except LogRejectedError as exc:
        fail(str(exc))
    if summary.quarantined:
        where = f" -> {quarantine_file}" if quarantine_file else ""
        print(
            f"warning: {read.quarantine.source}: {summary.quarantined:,} rows quarantined "
            f"({100 * summary.share:.2f} %, not counted){where}:",
            *summary.lines(),
            sep="\n",
            file=sys.stderr,
        )


@contextmanager
def naming_the_log(log: Path) -> Iterator[None]:
    """Exit 2 with one line starting with the file when the work on an admitted log raises
    an InputError (no events left to mine, nothing to evaluate): the library's message
    says what is wrong and what to do, but not which file."""
    try:
        yield
    except InputError as exc:
        fail(f"{log}: {exc}")
