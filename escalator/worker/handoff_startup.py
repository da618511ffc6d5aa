"""Start (or update) every role's hand-off workflow when the worker starts, beside it.

One `HandoffWorkflow` per role with a schedule or a rotation (a role with neither has
nobody on call to hand over). Signal-with-start: a workflow that runs already gets the
role as the policies say now (``role_changed``), so a changed schedule counts from the
next hand-off; one that does not run is started. A role removed from the policies keeps
its workflow until someone terminates it (`temporal workflow terminate --workflow-id
handoff:ROLE`): the worker cannot tell a removed role from a policy directory that is
only missing here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from escalator.client import with_pydantic
from escalator.policies.errors import PolicyError
from escalator.policies.policy_set import PolicySet
from escalator.policies.roles import OwnerRole
from escalator.policy_source import load_configured_policies
from escalator.settings import Settings
from escalator.worker.start_each import start_each_until_started
from escalator.workflows.handoff_contracts import (
    HANDOFF_WORKFLOW,
    ROLE_SIGNAL,
    HandoffInput,
    RoleChanged,
    handoff_workflow_id,
)

__all__ = ["handoff_roles", "start_handoff", "start_handoff_workflows"]

log = logging.getLogger(__name__)


def handoff_roles(policies: PolicySet) -> list[OwnerRole]:
    return [r for r in policies.roles if r.schedule is not None or r.rotation is not None]


async def start_handoff(client: Client, role: OwnerRole, version: str, task_queue: str) -> None:
    await with_pydantic(client).start_workflow(
        HANDOFF_WORKFLOW,
        HandoffInput(role=role, policy_version=version),
        id=handoff_workflow_id(role.name),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=task_queue,
        start_signal=ROLE_SIGNAL,
        start_signal_args=[RoleChanged(role=role, policy_version=version)],
        static_summary=f"shift hand-off messages for {role.name}",
    )


async def _start_all(client: Client, settings: Settings) -> None:
    try:
        policies = load_configured_policies(settings)
    except PolicyError as err:
        log.warning("hand-off workflows not started: %s", err.one_line())
        return
    roles = handoff_roles(policies)

    async def start(role: OwnerRole) -> None:
        await start_handoff(client, role, policies.version, settings.temporal_task_queue)

    def not_yet(role: OwnerRole, err: Exception) -> None:
        log.warning("hand-off workflow for %s not started yet: %s", role.name, err)

    await start_each_until_started(roles, start, not_yet)
    names = ", ".join(r.name for r in roles)
    if names:
        log.info("hand-off workflows: %s", names)


def start_handoff_workflows(client: Client, settings: Settings) -> asyncio.Task[Any]:
    return asyncio.create_task(_start_all(client, settings), name="escalator-handoffs")
