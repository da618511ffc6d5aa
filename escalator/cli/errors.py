"""How the CLI ends: the documented exit codes, a refusal (one line on stderr naming what
to fix), and the exit of a command that used the Temporal SDK.

Exit codes (also in `escalator --help`, the README and docs/reliability.md; a test holds
the three to this table):

    0  done
    1  refused: the exception's workflow (or the records) said no, e.g. "already resolved"
    2  unusable input: a bad option, policies that do not load
    3  Temporal unreachable: nothing answered at TEMPORAL_ADDRESS, or no such namespace
    4  no answer within --timeout: no worker took the request (the line says whether
       Temporal kept it, so you know whether repeating is needed)
"""

from __future__ import annotations

import os
import sys
from enum import IntEnum
from typing import NoReturn

import typer

__all__ = ["EXIT_CODES_HELP", "ExitCode", "fail", "leave"]


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    TEMPORAL_UNREACHABLE = 3
    NO_ANSWER = 4


MEANING = {
    ExitCode.OK: "done",
    ExitCode.REFUSED: "refused: the workflow or the records said no (the reason is printed)",
    ExitCode.USAGE: "unusable input: a bad option, policies that do not load",
    ExitCode.TEMPORAL_UNREACHABLE: "Temporal unreachable at TEMPORAL_ADDRESS (or no such namespace)",
    ExitCode.NO_ANSWER: "no answer within --timeout: no worker took the request in time",
}

EXIT_CODES_HELP = "Exit codes: " + "; ".join(f"{int(c)} {MEANING[c]}" for c in ExitCode) + "."


def fail(message: str, code: int = ExitCode.USAGE) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def leave(code: int = 0) -> NoReturn:
    """Exit without interpreter teardown, output flushed first: once the Temporal SDK ran,
    its runtime can abort the process at exit (temporalio/sdk-python#300, see
    docs/architecture.md), which would turn the status the command decided on into 134."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))
