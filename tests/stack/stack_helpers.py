"""Running `escalator up` as a real process, reading its output, and finding leftovers."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ESCALATOR = [sys.executable, "-m", "escalator.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Running:
    """An `escalator ...` process whose output is collected line by line in the background."""

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        command: Sequence[str] = ESCALATOR,
    ) -> None:
        """``command``: what runs the CLI (the real `escalator`, unless a test needs the same
        CLI behind a few lines of its own)."""
        # Never the default receiver port 3000: other test runs on this machine may use it.
        env = {"ESCALATOR_RECEIVER_PORT": str(free_port()), **(env or {})}
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [*command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **env},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """The first line (already seen or coming) matching `pattern`; fail with the output."""
        regex = re.compile(pattern)
        for seen in self.lines:
            if match := regex.search(seen):
                return match
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if match := regex.search(line):
                return match
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + self.output)

    def finish(self, timeout: float = 30.0) -> int:
        code = self.process.wait(timeout=timeout)
        while (line := self._next_line()) is not None:
            self.lines.append(line)
        return code

    def _next_line(self) -> str | None:
        try:
            return self._queue.get(timeout=2.0)
        except queue.Empty:
            return None

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def up(
    port: int, ui_port: int, state_dir: Path, *extra: str, env: dict[str, str] | None = None
) -> Running:
    args = ["up", "--port", str(port), "--ui-port", str(ui_port), "--state-dir", str(state_dir)]
    return Running([*args, *extra], env=env)


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (e.g. a test's state dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_until(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.1)
    return False
