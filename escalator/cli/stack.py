"""`escalator up`, `escalator demo` and `escalator temporal register-search-attributes`.

These commands end with ``os._exit`` after flushing their output: a process
that used the Temporal SDK sometimes aborts at interpreter exit
(temporalio/sdk-python#300, see docs/architecture.md), which would replace the
exit status the command decided on with 134.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from escalator.cli.errors import leave
from escalator.cli.temporal import sdk_runs
from escalator.settings import get_settings
from escalator.stack.demo_context import RunCommand
from escalator.stack.temporal_admin import register_search_attributes, wait_for_server
from escalator.stack.up import StackOptions, run_foreground, stop_on_sigterm

__all__ = ["register"]

PORT_HELP = "Temporal gRPC port on this machine (overrides TEMPORAL_ADDRESS with localhost:PORT)."
UI_PORT_HELP = "Web UI port of the dev server (default: the gRPC port + 1000, i.e. 8233)."
STATE_HELP = (
    "Directory for temporal.db and the records (default: ESCALATOR_STATE_DIR or .escalator)."
)


def say(message: str) -> None:
    print(message, flush=True)


def complain(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


finish = leave  # the stack commands run the SDK (the demo, the search-attribute probe)


def stack_options(port: int | None, ui_port: int | None, state_dir: Path | None) -> StackOptions:
    settings = get_settings()
    return StackOptions(
        address=f"localhost:{port}" if port is not None else settings.temporal_address,
        namespace=settings.temporal_namespace,
        state_dir=state_dir if state_dir is not None else settings.state_dir,
        ui_port=ui_port,
        receiver_port=settings.receiver_port,
    )


def up(
    port: int | None = typer.Option(None, "--port", help=PORT_HELP),
    ui_port: int | None = typer.Option(None, "--ui-port", help=UI_PORT_HELP),
    state_dir: Path | None = typer.Option(None, "--state-dir", help=STATE_HELP),
) -> None:
    """Run Temporal (dev server unless one answers at TEMPORAL_ADDRESS), the worker and the receiver in the foreground; Ctrl-C stops them all."""
    # A StackError (a port taken, the state directory busy) ends in the root command
    # (escalator/cli/main.py): one line, exit 5.
    sdk_runs()
    finish(run_foreground(stack_options(port, ui_port, state_dir), say))


def in_process(root: Any) -> RunCommand:
    """Run `escalator ARGS` on the command tree that is running now (no re-import of the
    CLI module, which imports this one), as the shell would: the exit status, never a
    traceback."""

    def run(args: Sequence[str]) -> int:
        try:
            result = root.main(args=list(args), prog_name="escalator", standalone_mode=False)
        except SystemExit as stop:
            code = stop.code
            return code if isinstance(code, int) else (0 if code is None else 1)
        except Exception as error:  # usage errors and the like: report, never a traceback
            say(f"escalator {' '.join(args)}: {error}")
            return 2
        return result if isinstance(result, int) else 0

    return run


def demo(
    ctx: typer.Context,
    exit_after: bool = typer.Option(
        False, "--exit", help="Stop everything after the steps; exit 0 only if every step worked."
    ),
    port: int | None = typer.Option(None, "--port", help=PORT_HELP),
    ui_port: int | None = typer.Option(None, "--ui-port", help=UI_PORT_HELP),
    state_dir: Path | None = typer.Option(None, "--state-dir", help=STATE_HELP),
) -> None:
    """Show what escalator can do today, step by step, on the embedded defaults."""
    from escalator.stack.demo import run_demo

    stop_on_sigterm()
    options = stack_options(port, ui_port, state_dir)
    run_command = in_process(ctx.find_root().command)
    finish(run_demo(options, run_command, exit_after=exit_after, echo=say))


def register_search_attributes_command(
    address: str | None = typer.Option(
        None, "--address", help="HOST:PORT (default: TEMPORAL_ADDRESS)."
    ),
    wait: float = typer.Option(
        120.0, "--wait", help="Seconds to wait for the server to answer (it may still be starting)."
    ),
) -> None:
    """Register escalator's search attributes on a Temporal server (idempotent)."""
    settings = get_settings()
    target = address or settings.temporal_address
    sdk_runs()

    async def run() -> int:
        client = await wait_for_server(target, settings.temporal_namespace, within=wait)
        if client is None:
            complain(
                f"no Temporal server answered at {target} (namespace "
                f"{settings.temporal_namespace!r}) within {wait:.0f} s"
            )
            return 1
        # A SearchAttributeConflict is a StackError: the root command prints it, exit 5.
        added = await register_search_attributes(client)
        say(
            f"registered: {', '.join(added)}"
            if added
            else "all search attributes already registered"
        )
        return 0

    finish(asyncio.run(run()))


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.command("up")(up)
    app.command("demo")(demo)
    temporal = typer.Typer(
        help="Operate the Temporal server escalator runs on.", no_args_is_help=True
    )
    temporal.command("register-search-attributes")(register_search_attributes_command)
    app.add_typer(temporal, name="temporal")
