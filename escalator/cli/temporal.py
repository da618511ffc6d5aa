"""The CLI's Temporal plumbing: connect within seconds, bound every wait by ``--timeout``,
and end in one line with a documented exit code (`escalator/cli/errors.py`) whatever Temporal
does: refuses the connection, has no such namespace, or has no worker to answer.

A command hands ``run`` a coroutine function of the client; what to say when no answer
came in time is the command's own (``no_answer``), because only it knows whether its
request can still take effect (an admitted update, a started workflow) or not (a query).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, NoReturn, TypeVar

import typer
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from escalator.cli.errors import ExitCode, leave
from escalator.client import connect as connect_client
from escalator.errors import EscalatorError
from escalator.settings import Settings
from escalator.temporal_outage import CHECK_TEMPORAL, pollers, unreachable_reason

__all__ = [
    "DEFAULT_TIMEOUT",
    "TimeoutOpt",
    "cli_exit",
    "connect_cli",
    "run",
    "say",
    "sdk_ran",
    "sdk_runs",
    "unreachable_line",
]

T = TypeVar("T")
DEFAULT_TIMEOUT = 15.0
CONNECT_WITHIN = timedelta(seconds=5)
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=0.1,
        help="Seconds to wait for a worker's answer; then say why none came (exit code 4).",
    ),
]
NoAnswer = Callable[[Client], Awaitable[str]]

_sdk_used = False


def sdk_runs() -> None:
    """For a command that runs the Temporal SDK without ``run`` (`up`, the search-attribute
    registration): its errors, too, leave without teardown (``main()``)."""
    global _sdk_used
    _sdk_used = True


def sdk_ran() -> bool:
    return _sdk_used


def cli_exit(code: int = ExitCode.OK) -> NoReturn:
    """Leave without interpreter teardown once the Temporal SDK ran: its runtime can
    abort the process at exit (temporalio/sdk-python#300), which would turn a finished
    command's exit status into a crash. Output is flushed first."""
    if not _sdk_used:
        raise typer.Exit(int(code))
    leave(code)


def say(message: str, code: int = ExitCode.USAGE) -> NoReturn:
    """One line on stderr, then the exit code."""
    print(f"escalator: {message}", file=sys.stderr)
    cli_exit(code)


def unreachable_line(settings: Settings, reason: str) -> str:
    return (
        f"cannot reach Temporal at {settings.temporal_address} "
        f"(TEMPORAL_ADDRESS, namespace {settings.temporal_namespace}): {reason}; {CHECK_TEMPORAL}"
    )


async def connect_cli(settings: Settings) -> Client:
    """A client within CONNECT_WITHIN, or the SDK's connect error (``run`` explains it)."""
    return await connect_client(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        connect_timeout=CONNECT_WITHIN,
        # A command is interactive: a call to a server that went away fails within seconds.
        retry_config=RetryConfig(max_elapsed_time_millis=5000, max_retries=5),
    )


class _NoAnswer(EscalatorError):
    """No worker answered within --timeout; ``run`` says so with the command's sentence.
    Neither input nor a refusal, hence straight under the base (escalator/errors.py)."""

    exit_code = ExitCode.NO_ANSWER


def _timed_out(err: BaseException) -> bool:
    if isinstance(err, TimeoutError | WorkflowUpdateRPCTimeoutOrCancelledError):
        return True
    return isinstance(err, RPCError) and err.status in (
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
    )


def run(
    work: Callable[[Client], Awaitable[T]],
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    no_answer: NoAnswer | None = None,
    settings: Settings | None = None,
) -> T:
    """Connect, run ``work(client)`` for at most ``timeout`` seconds, and turn Temporal's
    failures into one line: unreachable -> exit 3, no answer in time -> exit 4 (with
    ``no_answer``'s sentence, by default who polls the task queue), another refusal of
    Temporal's -> exit 1."""
    sdk_runs()
    settings = settings or Settings()

    async def go() -> T:
        client = await connect_cli(settings)
        try:
            async with asyncio.timeout(timeout):
                return await work(client)
        except Exception as err:
            if not _timed_out(err) or unreachable_reason(err):
                raise
            if no_answer is not None:
                raise _NoAnswer(await no_answer(client)) from None
            seen = await pollers(client, settings.temporal_task_queue)
            raise _NoAnswer(seen.sentence()) from None

    try:
        return asyncio.run(go())
    except _NoAnswer as err:
        say(f"no answer within {timeout:g} s: {err}", ExitCode.NO_ANSWER)
    except (RPCError, RuntimeError) as err:
        reason = unreachable_reason(err)
        if reason is not None:
            say(unreachable_line(settings, reason), ExitCode.TEMPORAL_UNREACHABLE)
        if isinstance(err, RPCError):
            say(f"Temporal at {settings.temporal_address}: {err.message}", ExitCode.REFUSED)
        raise
