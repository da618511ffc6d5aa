"""Commands of the `escalator` CLI for this area (registered by workers/cli.py)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
