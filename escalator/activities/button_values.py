"""The context an interactive Slack element carries out and brings back.

A button value (or select option value) goes out inside a message anyone in
the channel can see and comes back in a request we did not write, so it is a
typed model, validated on the way back: unknown actions, missing exception
ids and extra fields are refused before anything reaches a workflow. It
carries *what* was clicked, never *who may* click: authorization is the
workflow validators' decision.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from escalator.activities.silence_choices import SILENCE_CHOICES
from escalator.errors import InputError

__all__ = [
    "OPTION_VALUE_LIMIT",
    "SNOOZE_CHOICES",
    "VALUE_LIMIT",
    "ButtonAction",
    "ButtonValue",
    "ButtonValueError",
]

VALUE_LIMIT = 2000  # Slack's limit for a button value
OPTION_VALUE_LIMIT = 150  # Slack's limit for a select option value

SNOOZE_CHOICES: dict[str, timedelta] = {
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "4h": timedelta(hours=4),
}


class ButtonAction(StrEnum):
    ACKNOWLEDGE = "ack"
    RESOLVE = "resolve"  # opens the resolve modal; the modal submits the update
    SNOOZE = "snooze"
    ESCALATE_NOW = "escalate"
    REASSIGN = "reassign"
    SILENCE = "silence"  # silences the exception's rule; arg: a key of SILENCE_CHOICES
    FALSE_ALARM = "false_alarm"  # resolves it at once, recorded as not real


class ButtonValueError(InputError, ValueError):
    """A value that came back from Slack is not one escalator wrote."""


class ButtonValue(BaseModel):
    """Short field aliases keep option values under Slack's 150 characters."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: int = Field(default=1, alias="v", ge=1, le=1)
    exception_id: str = Field(alias="x", min_length=1, max_length=255, pattern=r"^exc:")
    action: ButtonAction = Field(alias="a")
    arg: str | None = Field(default=None, alias="g", max_length=64)  # snooze choice or role

    def encode(self, limit: int = VALUE_LIMIT) -> str:
        raw = self.model_dump_json(by_alias=True, exclude_none=True)
        if len(raw) > limit:
            raise ButtonValueError(
                f"value for {self.exception_id} is {len(raw)} characters; Slack allows {limit}"
            )
        return raw

    @classmethod
    def decode(cls, raw: str | None) -> ButtonValue:
        if not raw:
            raise ButtonValueError("the action carried no value")
        try:
            value = cls.model_validate_json(raw)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) or "value" for e in exc.errors())
            raise ButtonValueError(f"the action's value is not escalator's ({fields})") from None
        if value.action is ButtonAction.SNOOZE and value.arg not in SNOOZE_CHOICES:
            raise ButtonValueError(f"unknown snooze choice {value.arg!r}")
        if value.action is ButtonAction.REASSIGN and not value.arg:
            raise ButtonValueError("reassign needs a role")
        if value.action is ButtonAction.SILENCE and value.arg not in SILENCE_CHOICES:
            raise ButtonValueError(f"unknown silence choice {value.arg!r}")
        return value
