"""Playbooks: automated actions (each re-checks the condition) and manual steps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from escalator.policies.base import Name, PolicyModel
from escalator.policies.duration import Duration

__all__ = ["Playbook", "PlaybookStep"]


class PlaybookStep(PolicyModel):
    name: Name
    """The step's name, unique in the playbook."""
    type: Literal["automated", "manual"]
    """`automated` (an action) or `manual` (a runbook for a person)."""
    action: str | None = None  # automated: a registered action name, e.g. "retry_label_print"
    """Automated: the registered action's name, e.g. `retry_label_print`."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Automated: parameters passed to the action."""
    recheck: bool = True  # automated: re-check the condition afterwards
    """Automated: re-check the condition afterwards; resolved if it cleared."""
    timeout: Duration = timedelta(minutes=5)
    """Automated: how long the action may take."""
    runbook: str | None = None  # manual: what a person does
    """Manual: what a person does (link or path)."""
    description: str = ""
    """Plain words for people."""

    @model_validator(mode="after")
    def _shape(self) -> PlaybookStep:
        if self.type == "automated" and not self.action:
            raise ValueError("an automated step needs an 'action'")
        if self.type == "manual" and not self.runbook:
            raise ValueError("a manual step needs a 'runbook' link")
        return self


class Playbook(PolicyModel):
    name: Name
    """The playbook's name, referenced by rules."""
    steps: list[PlaybookStep] = Field(min_length=1)
    """Steps in order, at least one."""
