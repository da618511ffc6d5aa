"""The Silence menu of a single exception's Slack message.

Choosing an option silences the exception's journey and rule (every case, not
only this one: that is what Snooze is for) until a time, until support hours
start or until this exception resolves; the receiver
(`escalator.receiver.silence_button`) checks who chose and stores the silence.
"""

from __future__ import annotations

from typing import Any

from escalator.activities.button_values import (
    OPTION_VALUE_LIMIT,
    ButtonAction,
    ButtonValue,
    ButtonValueError,
)
from escalator.activities.silence_choices import SILENCE_CHOICES

__all__ = ["SILENCE_ACTION", "silence_menu"]

SILENCE_ACTION = "escalator." + ButtonAction.SILENCE.value


def silence_menu(exception_id: str, journey: str, rule: str) -> dict[str, Any] | None:
    """A static select, or None when the id is too long for an option value (the
    `/escalator silence` command still works then)."""
    try:
        options = [
            {
                "text": {"type": "plain_text", "text": label},
                "value": ButtonValue(
                    exception_id=exception_id, action=ButtonAction.SILENCE, arg=key
                ).encode(OPTION_VALUE_LIMIT),
            }
            for key, label in SILENCE_CHOICES.items()
        ]
    except ButtonValueError:
        return None
    return {
        "type": "static_select",
        "action_id": SILENCE_ACTION,
        "placeholder": {"type": "plain_text", "text": "Silence rule"},
        "options": options,
        # A silence holds back every new exception of the rule, even critical ones: ask first.
        "confirm": {
            "title": {"type": "plain_text", "text": "Silence this rule?"},
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"New *{journey}/{rule}* exceptions, for every case, will be held "
                    "back and page nobody until the silence ends. This one is not changed."
                )[:300],
            },
            "confirm": {"type": "plain_text", "text": "Silence"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        },
    }
