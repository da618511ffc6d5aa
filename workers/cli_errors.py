"""How the CLI refuses a request: one line on stderr naming what to fix, exit code 2."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

__all__ = ["fail"]


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(2)
