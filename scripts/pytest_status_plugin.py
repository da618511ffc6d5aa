"""pytest plugin loaded by scripts/pytest_guard.py: records pytest's own exit status.

Written at session finish, i.e. before the interpreter starts shutting down,
so an abort during shutdown cannot erase the verdict.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("ESCALATOR_PYTEST_STATUS_FILE")
    if target:
        Path(target).write_text(str(int(exitstatus)))
