"""Playbook actions and the condition re-check that follows each of them.

Automated playbook steps name an action (``retry_label_print``); a deployment
registers what each name does in `PlaybookActions`. After a step the workflow
asks a `ConditionChecker` whether the exception's condition still holds; a
cleared condition resolves the exception without paging anyone.

`InMemoryConditions` is the in-process checker: detectors (or actions) mark
conditions cleared in it. The default checker reports the condition still
present, so nothing auto-resolves unless something says it is gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from temporalio import activity

from escalator.workflows.activity_contracts import (
    ACTIVITY_PLAYBOOK_ACTION,
    ACTIVITY_RECHECK,
    ActionResult,
    PlaybookActionInput,
    RecheckInput,
    RecheckResult,
)
from escalator.workflows.contracts import Detection

__all__ = [
    "Action",
    "ConditionChecker",
    "InMemoryConditions",
    "PlaybookActivities",
    "StillPresent",
]

# An action gets the detection and the step's params, returns what it did.
Action = Callable[[Detection, Mapping[str, Any]], Awaitable[ActionResult]]


@runtime_checkable
class ConditionChecker(Protocol):
    async def is_cleared(self, exception_id: str, detection: Detection) -> RecheckResult: ...


class StillPresent:
    """The default: without a way to look, assume the condition still holds."""

    async def is_cleared(self, exception_id: str, detection: Detection) -> RecheckResult:
        return RecheckResult(cleared=False, detail="no condition checker configured")


@dataclass
class InMemoryConditions:
    cleared: dict[str, str] = field(default_factory=dict)  # exception id -> why

    def clear(self, exception_id: str, why: str = "cleared") -> None:
        self.cleared[exception_id] = why

    async def is_cleared(self, exception_id: str, detection: Detection) -> RecheckResult:
        why = self.cleared.get(exception_id)
        return RecheckResult(cleared=why is not None, detail=why or "condition still holds")


class PlaybookActivities:
    def __init__(
        self,
        actions: Mapping[str, Action] | None = None,
        checker: ConditionChecker | None = None,
    ) -> None:
        self.actions = dict(actions or {})
        self.checker = checker or StillPresent()

    @activity.defn(name=ACTIVITY_PLAYBOOK_ACTION)
    async def run_playbook_action(self, inp: PlaybookActionInput) -> ActionResult:
        name = inp.step.action or ""
        action = self.actions.get(name)
        if action is None:
            known = ", ".join(sorted(self.actions)) or "none"
            return ActionResult(
                ok=False, detail=f"no playbook action named {name!r} is registered (known: {known})"
            )
        return await action(inp.detection, inp.step.params)

    @activity.defn(name=ACTIVITY_RECHECK)
    async def recheck_condition(self, inp: RecheckInput) -> RecheckResult:
        return await self.checker.is_cleared(inp.exception_id, inp.detection)
