"""Child processes of `escalator up`: started, watched and stopped without leaving orphans.

Three guarantees, each against a different way of dying:

- Ctrl-C / SIGTERM of `up`: every child runs in its own session (process
  group), so the terminal's Ctrl-C reaches only `up`, which then stops the
  children in reverse start order: SIGTERM to the whole group, a grace period,
  then SIGKILL to the group.
- A crash of one child: the supervisor notices it and `up` stops the others.
- SIGKILL of `up` itself (no chance to clean up): each child is started
  through a tiny launcher (``python -m escalator.stack.processes PARENT_PID -- CMD``)
  that asks Linux to send it SIGTERM when its parent dies (prctl
  PR_SET_PDEATHSIG) and only then execs the real command. Doing this in the
  launcher instead of in ``preexec_fn`` keeps it safe in a process that
  already runs threads (the Temporal client does).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Child", "Supervisor", "describe_exit"]

PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 10.0


@dataclass
class Child:
    """One process `up` started: a name people recognise, the command, its process."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    stdout: int | None = None  # e.g. subprocess.PIPE; default: share the terminal
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    def start(self) -> None:
        launcher = [sys.executable, "-m", "escalator.stack.processes", str(os.getpid()), "--"]
        self.process = subprocess.Popen(
            [*launcher, *self.argv],
            env=dict(self.env) if self.env is not None else None,
            start_new_session=True,
            stdout=self.stdout,
        )

    def exit_code(self) -> int | None:
        """None while running; the exit status (negative: killed by that signal) after."""
        return None if self.process is None else self.process.poll()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the child's process group, wait `grace` seconds, then SIGKILL the group."""
        if self.process is None:
            return
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Anything the child itself started and left behind shares its group.
        _signal_group(self.process.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Supervisor:
    """Starts children in order, reports the first one that dies, stops all in reverse."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, child: Child) -> Child:
        child.start()
        self.children.append(child)
        return child

    def first_dead(self) -> Child | None:
        for child in self.children:
            if child.exit_code() is not None:
                return child
        return None

    def wait_for_death(self, poll_seconds: float = 0.2) -> Child:
        """Block until a child exits; Ctrl-C / SIGTERM interrupt this with KeyboardInterrupt."""
        while True:
            dead = self.first_dead()
            if dead is not None:
                return dead
            time.sleep(poll_seconds)

    def stop_all(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop every child, last started first; a second Ctrl-C cannot interrupt this."""
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for child in reversed(self.children):
                child.stop(grace)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _launch(args: list[str]) -> None:
    """Entry of the launcher: arm the parent-death signal, then become the real command."""
    parent = int(args[0])
    command = args[args.index("--") + 1 :]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        # The parent died between fork and prctl: nobody would ever stop us.
        sys.exit(f"escalator: parent process {parent} is gone; not starting {command[0]}")
    os.execvp(command[0], command)


if __name__ == "__main__":
    _launch(sys.argv[1:])
