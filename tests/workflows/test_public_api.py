"""The example in escalator's own docstring runs as written, against a real Temporal
server and a real worker: what an upstream detector author copies must work."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from harness import Harness

import escalator
from escalator.settings import SHIPPED_POLICY_DIR

pytestmark = pytest.mark.temporal


def _example() -> Callable[..., Awaitable[str]]:
    doc = escalator.__doc__ or ""
    [code] = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, "escalator/__init__.py (docstring)", "exec"), namespace)
    example: Callable[..., Awaitable[str]] = namespace["report_stuck_order"]
    return example


async def test_the_docstring_example_raises_and_then_deduplicates(harness: Harness) -> None:
    report = _example()
    address = harness.client.service_client.config.target_host
    since = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    first = await report(address, str(SHIPPED_POLICY_DIR), since, harness.task_queue)
    again = await report(address, str(SHIPPED_POLICY_DIR), since, harness.task_queue)
    assert (first, again) == ("new", "duplicate")


def test_the_public_names_load_and_the_rooms_do_not_pull_the_client() -> None:
    assert set(escalator.__all__) <= set(dir(escalator)) | set(escalator.__all__)
    for name in escalator.__all__:
        assert getattr(escalator, name) is not None
    # Importing a room (as the workflow sandbox does) must not import the Temporal client.
    probe = "import sys, escalator.workflows.contracts; print('escalator.client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
