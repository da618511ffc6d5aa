"""`escalator receiver`: Slack and SMS replies become workflow updates (also run by `escalator up`)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import typer

from escalator.policies.errors import PolicyError
from escalator.settings import get_settings

__all__ = ["register"]


def receiver(
    port: int = typer.Option(None, help="HTTP port (default: ESCALATOR_RECEIVER_PORT, 3000)."),
    host: str = typer.Option(
        None, help="Bind address (default: ESCALATOR_RECEIVER_HOST, 0.0.0.0)."
    ),
) -> None:
    """Serve /slack/events, /twilio/sms and /healthz; Socket Mode when SLACK_APP_TOKEN is set."""
    from escalator.receiver.run import run_receiver

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    status = 0
    try:
        asyncio.run(
            run_receiver(
                settings,
                host=host or settings.receiver_host,
                port=port if port is not None else settings.receiver_port,
            )
        )
    except PolicyError as err:
        print(f"escalator receiver: the policies do not load:\n{err}", file=sys.stderr)
        status = 2
    except (RuntimeError, OSError) as err:  # Temporal unreachable, port taken
        print(f"escalator receiver: {err}", file=sys.stderr)
        status = 1
    print("escalator receiver: stopped", flush=True)
    sys.stderr.flush()
    # A process that used the Temporal SDK sometimes aborts at interpreter exit
    # (temporalio/sdk-python#300): leave with the status decided here instead.
    os._exit(status)


def register(app: typer.Typer) -> None:
    app.command("receiver")(receiver)
