"""The shift hand-off message: its words, its Slack blocks and its "Take this shift" button.

"dirk is on call for inventory until Mon 09:00 CET", in the zone of the role's schedule
(its top layer, as `/escalator cover` reads times). The button's value says which shift
it offers (role, start, end, the member named); like every value escalator writes it is
validated when it comes back, and says nothing about who may click: the receiver
decides that (`escalator/receiver/take_shift.py`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from escalator.activities.button_values import VALUE_LIMIT, ButtonValueError
from escalator.policies.roles import OwnerRole

__all__ = [
    "TAKE_SHIFT_ACTION",
    "ShiftValue",
    "handoff_blocks",
    "handoff_text",
    "role_zone",
    "taken_blocks",
    "taken_text",
    "until_text",
]

TAKE_SHIFT_ACTION = "escalator.take_shift"
Block = dict[str, Any]


def role_zone(role: OwnerRole, at: datetime) -> tzinfo:
    """The zone people of ``role`` read times in: its schedule's top layer (UTC for a
    rotation without a zone)."""
    return role.effective_schedule(at).layers[-1].zone


def until_text(end: datetime, zone: tzinfo, now: datetime) -> str:
    """``Mon 09:00 CET``; with the date when the end is a week or more away."""
    local = end.astimezone(zone)
    if end - now >= timedelta(days=6):
        return f"{local:%a %d %b %H:%M} {local.tzname()}"
    return f"{local:%a %H:%M} {local.tzname()}"


def handoff_text(role: str, member: str | None, end: datetime, zone: tzinfo, at: datetime) -> str:
    until = until_text(end, zone, at)
    if member is None:
        return f"Nobody is on call for {role} until {until} (a gap in the schedule)"
    return f"{member} is on call for {role} until {until}"


def taken_text(
    role: str, taker: str, previous: str | None, end: datetime, zone: tzinfo, now: datetime
) -> str:
    local = now.astimezone(zone)
    source = f" from {previous}" if previous else ""
    return (
        f"{taker} is on call for {role} until {until_text(end, zone, now)} "
        f"(took the rest of this shift{source} at {local:%H:%M} {local.tzname()})"
    )


class ShiftValue(BaseModel):
    """Which shift a "Take this shift" button offers; short aliases keep it small."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: int = Field(default=1, alias="v", ge=1, le=1)
    role: str = Field(alias="r", min_length=1, max_length=100)
    start: datetime = Field(alias="s")
    end: datetime = Field(alias="e")
    member: str | None = Field(default=None, alias="m", max_length=100)  # None: a gap

    def encode(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    @classmethod
    def decode(cls, raw: str | None) -> ShiftValue:
        if not raw or len(raw) > VALUE_LIMIT:
            raise ButtonValueError("the button carried no shift")
        try:
            value = cls.model_validate_json(raw)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) or "value" for e in exc.errors())
            raise ButtonValueError(f"not a shift escalator offered (bad {fields})") from exc
        if value.start.tzinfo is None or value.end.tzinfo is None or value.end <= value.start:
            raise ButtonValueError("not a shift escalator offered (bad start/end)")
        return value


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def handoff_blocks(text: str, value: ShiftValue, why: str) -> list[Block]:
    return [
        _section(f":arrows_counterclockwise: *{text}*"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": why[:2900]}]},
        {
            "type": "actions",
            "block_id": "escalator.handoff",
            "elements": [
                {
                    "type": "button",
                    "action_id": TAKE_SHIFT_ACTION,
                    "text": {"type": "plain_text", "text": "Take this shift"},
                    "value": value.encode(),
                }
            ],
        },
    ]


def taken_blocks(text: str, override_id: str) -> list[Block]:
    """The message once someone took the shift: who has it now, no button."""
    return [
        _section(f":arrows_counterclockwise: *{text}*"),
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"override `{override_id}` in the records"}],
        },
    ]
