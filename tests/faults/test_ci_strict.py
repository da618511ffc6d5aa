"""Under CI=true a fault scenario that cannot run fails the build instead of being skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
NO_SERVER = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1


def _run(ci: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": ci, "ESCALATOR_FAULTS_PG": NO_SERVER}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "faults",
            "tests/faults/test_concurrent_raise.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_skipped_fault_scenario_fails_under_ci() -> None:
    outside = _run("false")
    assert outside.returncode == 0 and "1 skipped" in outside.stdout, outside.stdout[-1500:]
    inside = _run("true")
    assert inside.returncode == 1, inside.stdout[-1500:]
    assert "skipped under CI=true" in inside.stdout and "127.0.0.1:1" in inside.stdout
