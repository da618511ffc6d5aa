"""How the CLI ends: the documented exit codes, a refusal (one line on stderr naming what
to fix), and the exit of a command that used the Temporal SDK.

Exit codes (also in `escalator --help`, the README and docs/reliability.md; a test holds
the three to this table). 1, 2, 5 and 6 are also the exit codes of the branches of
`escalator.errors` (an EscalatorError that no command catches exits with its branch's):

    0  done
    1  refused: the exception's workflow (or the records) said no, e.g. "already resolved"
    2  unusable input: a bad option, a log, reply or model file escalator cannot use,
       policies that do not load
    3  Temporal unreachable: nothing answered at TEMPORAL_ADDRESS, or no such namespace
    4  no answer within --timeout: no worker took the request (the line says whether
       Temporal kept it, so you know whether repeating is needed)
    5  the local stack (`escalator up`, the search attributes) could not start
    6  a provider (Slack, Twilio) did not take a message
   70  an unexpected error, i.e. a bug: one line names it; ESCALATOR_DEBUG=1 adds the
       traceback (70 is EX_SOFTWARE of sysexits.h)
"""

from __future__ import annotations

import os
import sys
import traceback
from enum import IntEnum
from typing import NoReturn

import typer

from escalator.errors import EscalatorError

__all__ = ["DEBUG_ENV", "EXIT_CODES_HELP", "ExitCode", "ending", "fail", "leave", "report"]

DEBUG_ENV = "ESCALATOR_DEBUG"  # set (to anything but empty): a bug's traceback is printed too


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    TEMPORAL_UNREACHABLE = 3
    NO_ANSWER = 4
    STACK = 5
    DELIVERY = 6
    BUG = 70


MEANING = {
    ExitCode.OK: "done",
    ExitCode.REFUSED: "refused: the workflow or the records said no (the reason is printed)",
    ExitCode.USAGE: "unusable input: a bad option or file, policies that do not load",
    ExitCode.TEMPORAL_UNREACHABLE: "Temporal unreachable at TEMPORAL_ADDRESS (or no such namespace)",
    ExitCode.NO_ANSWER: "no answer within --timeout: no worker took the request in time",
    ExitCode.STACK: "the local stack could not start (escalator up, the search attributes)",
    ExitCode.DELIVERY: "a provider (Slack, Twilio) did not take a message",
    ExitCode.BUG: f"unexpected error, a bug: named in one line ({DEBUG_ENV}=1 adds the traceback)",
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


def report(err: Exception) -> int:
    """Say how a command ended that did not end itself: ``error: `` and its one line on
    stderr (after the traceback, with ESCALATOR_DEBUG set). Returns the exit code."""
    line, code = ending(err)
    if os.environ.get(DEBUG_ENV):
        traceback.print_exception(err)
    print(f"error: {line}", file=sys.stderr)
    return code


def ending(err: Exception) -> tuple[str, int]:
    """The one line (without ``error: ``) and the exit code for an exception no command
    caught: an EscalatorError's own line and branch code, anything else is a bug."""
    if isinstance(err, EscalatorError):
        return " ".join(err.one_line().split()), err.exit_code
    # The chain names what failed underneath: an SDK error's own message is often generic
    # ("Workflow update failed").
    parts = [f"{type(err).__name__}: {err}"]
    below = _underneath(err)
    while below is not None and len(parts) < 4:
        parts.append(f"caused by {type(below).__name__}: {below}")
        below = _underneath(below)
    what = " ".join("; ".join(parts).split())  # one line, whatever the messages hold
    return (
        f"unexpected {what}; a bug in escalator: run again with {DEBUG_ENV}=1 for the "
        "traceback, and report it",
        ExitCode.BUG,
    )


def _underneath(err: BaseException) -> BaseException | None:
    if err.__cause__ is not None:
        return err.__cause__
    return None if err.__suppress_context__ else err.__context__
