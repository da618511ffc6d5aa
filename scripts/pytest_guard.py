"""Run pytest so that a known interpreter-exit abort cannot change the verdict.

The Temporal Python SDK sometimes aborts the interpreter *after* pytest has
finished (``Fatal Python error: PyGILState_Release``, exit 134, see
temporalio/sdk-python#300). The tests decide
the exit code, not that abort: the plugin ``pytest_status_plugin`` (beside this
file) writes pytest's own exit status to a file when the session finishes, and this wrapper uses it only when
the process died by SIGABRT after that file was written. Any other exit code,
or an abort before the session finished, is passed through unchanged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="escalator-pytest-") as tmp:
        status_file = Path(tmp) / "exitstatus"
        here = str(Path(__file__).resolve().parent)
        pythonpath = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, ESCALATOR_PYTEST_STATUS_FILE=str(status_file), PYTHONPATH=pythonpath)
        cmd = [sys.executable, "-m", "pytest", "-p", "pytest_status_plugin", *argv]
        proc = subprocess.run(cmd, env=env, check=False)
        code = proc.returncode
        aborted = code in (134, -signal.SIGABRT)
        if aborted and status_file.exists():
            recorded = int(status_file.read_text().strip())
            print(
                f"pytest_guard: interpreter aborted at exit (code {code}) after the test "
                f"session finished with status {recorded}; using the session's status.",
                file=sys.stderr,
            )
            code = recorded
        elif code < 0:
            code = 128 - code
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
