"""Playbooks: automated actions (each re-checks the condition) and manual steps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from policies.base import Name, PolicyModel
from policies.duration import Duration

__all__ = ["Playbook", "PlaybookStep"]


class PlaybookStep(PolicyModel):
    name: Name
    type: Literal["automated", "manual"]
    action: str | None = None  # automated: a registered action name, e.g. "retry_label_print"
    params: dict[str, Any] = Field(default_factory=dict)
    recheck: bool = True  # automated: re-check the condition afterwards
    timeout: Duration = timedelta(minutes=5)
    runbook: str | None = None  # manual: what a person does
    description: str = ""

    @model_validator(mode="after")
    def _shape(self) -> PlaybookStep:
        if self.type == "automated" and not self.action:
            raise ValueError("an automated step needs an 'action'")
        if self.type == "manual" and not self.runbook:
            raise ValueError("a manual step needs a 'runbook' link")
        return self


class Playbook(PolicyModel):
    name: Name
    steps: list[PlaybookStep] = Field(min_length=1)
