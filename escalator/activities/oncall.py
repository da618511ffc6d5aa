"""Who is on call at the moment an escalation level starts: the activity.

The workflow cannot read the records database, so it asks here when a level
starts; the answer (member and why) is in its history, so a replay pages the same
person. The schedule comes with the request (the run's policy snapshot); the
overrides and vacations from the records database, so one made while the
exception is open applies to its next level.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from temporalio import activity

from escalator.policies.roles import OwnerRole
from escalator.policies.schedules import Away, Override
from escalator.records.oncall import OnCallStore
from escalator.workflows.activity_contracts import (
    ACTIVITY_RESOLVE_ON_CALL,
    OnCallAnswer,
    OnCallInput,
)

__all__ = ["Changes", "OnCallActivities", "no_changes", "store_changes"]

Changes = Callable[[OwnerRole, datetime], Awaitable[Sequence[Override | Away]]]


async def no_changes(role: OwnerRole, at: datetime) -> Sequence[Override | Away]:
    """Without a records database: the policy's schedule alone."""
    return []


def store_changes(store: OnCallStore) -> Changes:
    async def changes(role: OwnerRole, at: datetime) -> Sequence[Override | Away]:
        # Rows still running at `at` (a day back covers none that matter: ended ones lose).
        return await store.for_role_async(role, at - timedelta(days=1))

    return changes


class OnCallActivities:
    def __init__(self, changes: Changes = no_changes) -> None:
        self.changes = changes

    @activity.defn(name=ACTIVITY_RESOLVE_ON_CALL)
    async def resolve_on_call(self, inp: OnCallInput) -> OnCallAnswer:
        who = inp.role.who(inp.at, await self.changes(inp.role, inp.at))
        return OnCallAnswer(role=inp.role.name, **who.as_dict())
