"""Block Kit of storm control's grouped message: the count, the subjects, and two buttons.

"Acknowledge all" takes the storm (its escalation stops) and every open member;
"Resolve all" opens a modal for the note (and, optional, the cause code and whether it
was real), then resolves every open member with them. The button
value names the storm only, never who may click: the storm's update validator decides.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from escalator.activities.resolve_fields import learning_inputs
from escalator.workflows.contracts import ExceptionStatus

__all__ = [
    "STORM_ACK",
    "STORM_RESOLVE",
    "STORM_RESOLVE_CALLBACK",
    "StormButtonValue",
    "storm_message",
    "storm_resolve_modal",
]

STORM_ACK = "escalator.storm_ack"
STORM_RESOLVE = "escalator.storm_resolve"  # opens the modal; the modal resolves
STORM_RESOLVE_CALLBACK = "escalator.storm_resolve_modal"
Block = dict[str, Any]


class StormButtonValue(BaseModel):
    """What a storm button carries out and brings back (validated: Slack relays it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: int = Field(default=1, alias="v", ge=1, le=1)
    storm_id: str = Field(alias="s", min_length=1, max_length=255, pattern=r"^storm:")
    channel: str | None = Field(default=None, alias="c", max_length=64)  # for the modal's reply

    def encode(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    @classmethod
    def decode(cls, raw: str | None) -> StormButtonValue:
        if not raw:
            raise ValueError("the action carried no value")
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            raise ValueError("the action's value is not an escalator storm's") from None


def _button(text: str, action_id: str, storm_id: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": StormButtonValue(storm_id=storm_id).encode(),
    }
    if style:
        button["style"] = style
    return button


def storm_message(status: ExceptionStatus) -> list[Block]:
    """The grouped message; buttons while some member is still open."""
    payload = status.payload
    title = f"Storm: {status.journey} {status.rule} ({payload.get('count', '?')})"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": str(payload["summary"])}},
    ]
    # Storms from before buttons carry no "open" count: they keep their plain message.
    if payload.get("open", 0) > 0:
        sid = status.exception_id
        elements = [_button("Resolve all", STORM_RESOLVE, sid)]
        if not status.acknowledged_by:
            elements.insert(0, _button("Acknowledge all", STORM_ACK, sid, "primary"))
        blocks.append({"type": "actions", "block_id": "escalator.storm", "elements": elements})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{status.exception_id}`"}]}
    )
    return blocks


def storm_resolve_modal(value: StormButtonValue) -> Block:
    """Asks for the note every open member is resolved with, and (optional) the cause
    code and whether it was real, which every member's resolution records too."""
    return {
        "type": "modal",
        "callback_id": STORM_RESOLVE_CALLBACK,
        "private_metadata": value.encode(),
        "title": {"type": "plain_text", "text": "Resolve all"},
        "submit": {"type": "plain_text", "text": "Resolve all"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"Resolves every open exception of `{value.storm_id}`",
                },
            },
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "What was done"},
                "element": {"type": "plain_text_input", "action_id": "note", "multiline": True},
            },
            *learning_inputs(" (every exception)"),
        ],
    }
