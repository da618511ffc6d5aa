"""How the CLI ends: a refusal (one line on stderr naming what to fix, exit code 2), and
the exit of a command that used the Temporal SDK."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer

__all__ = ["fail", "leave"]


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(2)


def leave(code: int = 0) -> NoReturn:
    """Exit without interpreter teardown, output flushed first: once the Temporal SDK ran,
    its runtime can abort the process at exit (temporalio/sdk-python#300, see
    TEMPORAL-NOTES.md), which would turn the status the command decided on into 134."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
