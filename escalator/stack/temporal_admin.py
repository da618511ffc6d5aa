"""Talking to a Temporal server as its operator: is it there, and does it know our search attributes.

Used by `escalator up`, `escalator demo` and `escalator temporal
register-search-attributes` (the one-shot service of docker-compose.yml), so
the list of search attributes lives only in `escalator.workflows.search_attributes`.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RetryConfig

from escalator.client import connect as client_connect
from escalator.errors import StackError
from escalator.workflows.search_attributes import ALL_KEYS

__all__ = [
    "SearchAttributeConflict",
    "connect",
    "port_accepts_connections",
    "register_search_attributes",
    "registered_search_attributes",
    "split_address",
    "wait_for_server",
]


class SearchAttributeConflict(StackError):
    """A search attribute exists on the server with another type than escalator needs."""


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"Temporal address {address!r} is not HOST:PORT (e.g. localhost:7233)")
    return host, int(port)


def port_accepts_connections(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


async def connect(address: str, namespace: str, within: float = 3.0) -> Client | None:
    """A client if a Temporal frontend answers at `address` within `within` seconds, else None.

    Through ``escalator.client.connect`` like every other process, so what the stack
    hands on speaks the contracts' data converter."""
    try:
        return await asyncio.wait_for(
            client_connect(
                address,
                namespace=namespace,
                connect_timeout=timedelta(seconds=within),
                retry_config=RetryConfig(max_retries=1),
            ),
            within + 1,
        )
    except Exception:
        return None


async def wait_for_server(
    address: str,
    namespace: str,
    within: float,
    still_starting: Callable[[], bool] = lambda: True,
) -> Client | None:
    """Poll until the server answers and the namespace exists; None on timeout or if it died."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and still_starting():
        client = await connect(address, namespace, within=2.0)
        if client is not None:
            try:
                await client.count_workflows()  # the namespace is ready, not just the port
                return client
            except Exception:
                pass
        await asyncio.sleep(0.2)
    return None


def _type_name(value: int) -> str:
    return (
        IndexedValueType.Name(IndexedValueType.ValueType(value))
        .removeprefix("INDEXED_VALUE_TYPE_")
        .title()
    )


async def registered_search_attributes(client: Client) -> dict[str, str]:
    """Custom search attributes of the client's namespace: name -> type (e.g. "Keyword")."""
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return {name: _type_name(t) for name, t in response.custom_attributes.items()}


async def register_search_attributes(
    client: Client, keys: tuple[SearchAttributeKey, ...] = ALL_KEYS
) -> list[str]:
    """Add the missing ones; return their names. Safe to run again (a second `up`)."""
    existing = await registered_search_attributes(client)
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in keys:
        wanted = IndexedValueType.ValueType(int(key.indexed_value_type))
        if key.name not in existing:
            missing[key.name] = wanted
        elif existing[key.name] != _type_name(wanted):
            raise SearchAttributeConflict(
                f"search attribute {key.name} exists on namespace {client.namespace!r} as "
                f"{existing[key.name]}, escalator needs {_type_name(wanted)}: remove it "
                f"(temporal operator search-attribute remove --name {key.name}) or use "
                "another namespace"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
