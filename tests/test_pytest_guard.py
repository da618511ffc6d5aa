"""The interpreter-exit abort of the Temporal SDK must neither turn a pass red nor hide a failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GUARD = Path(__file__).resolve().parent.parent / "scripts" / "pytest_guard.py"

ABORT_AT_EXIT = "import atexit, os\natexit.register(os.abort)\n"


def _run(tmp_path: Path, body: str) -> int:
    (tmp_path / "test_sample.py").write_text(body)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # keep the project's ini out
    proc = subprocess.run(
        [sys.executable, str(GUARD), "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(ABORT_AT_EXIT + "def test_ok():\n    assert True\n", 0, id="pass-then-abort"),
        pytest.param(
            ABORT_AT_EXIT + "def test_bad():\n    assert False\n", 1, id="fail-then-abort"
        ),
        pytest.param("def test_ok():\n    assert True\n", 0, id="pass"),
        pytest.param("def test_bad():\n    assert False\n", 1, id="fail"),
        # An abort while tests still run is a real crash: it must stay red.
        pytest.param("import os\ndef test_crash():\n    os.abort()\n", 134, id="abort-mid-run"),
    ],
)
def test_guard_uses_the_session_verdict(tmp_path: Path, body: str, expected: int) -> None:
    assert _run(tmp_path, body) == expected
