"""`/escalator list`: the open exceptions owned by my roles, from Temporal visibility.

Reads the typed search attributes the workflow upserts, so the list is what
incident leads see in the Temporal Web UI. (The time-skipping test server has
no visibility queries; the dev server and Temporal Cloud do.)
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from escalator.workflows.contracts import ESCALATION_WORKFLOW
from escalator.workflows.search_attributes import LEVEL, OWNER_ROLE, STATE

__all__ = ["OpenException", "list_open"]


@dataclass(frozen=True)
class OpenException:
    exception_id: str
    owner_role: str
    state: str
    level: int


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def list_open(client: Client, roles: list[str], limit: int = 20) -> list[OpenException]:
    if not roles:
        return []
    query = (
        f'WorkflowType = "{ESCALATION_WORKFLOW}" AND ExecutionStatus = "Running" '
        f"AND {OWNER_ROLE.name} IN ({', '.join(_quote(r) for r in roles)})"
    )
    found: list[OpenException] = []
    async for wf in client.list_workflows(query, limit=limit):
        attrs = wf.typed_search_attributes
        found.append(
            OpenException(
                exception_id=wf.id,
                owner_role=attrs.get(OWNER_ROLE) or "?",
                state=attrs.get(STATE) or "?",
                level=attrs.get(LEVEL) or 0,
            )
        )
    return found
