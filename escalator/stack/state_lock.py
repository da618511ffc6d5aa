"""One `escalator up` per state directory: two dev servers on one temporal.db would fight over it.

An exclusive ``flock`` on ``<state dir>/up.lock``, held for the life of the
process. The kernel releases it however the process ends, SIGKILL included,
so a stale lock file never blocks the next start.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from escalator.errors import StackError

__all__ = ["StateDirBusy", "StateLock"]


class StateDirBusy(StackError):
    """Another live process holds the state directory."""


class StateLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "up.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise StateDirBusy(
                f"another `escalator up` (pid {holder}) is using {self.path.parent}: stop it, "
                "or give this one its own state: escalator up --state-dir DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None
