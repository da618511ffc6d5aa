"""The learning loop's two questions in a Slack resolve modal: the cause code and "was it
real?". One definition for the modal of one exception and the Resolve-all modal of a
storm, so both send back the same values and the receiver reads them one way
(`escalator.receiver.modal.real_answer`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["REAL_CHOICES", "learning_inputs"]

# The answer to "was it real?": the value sent back, the text shown.
REAL_CHOICES = {"real": "Yes: confirmed", "false_alarm": "No: a false alarm"}


def learning_inputs(scope: str = "") -> list[dict[str, Any]]:
    """Two optional input blocks, ``cause`` and ``real``; ``scope`` ends their labels
    (e.g. " (every exception)")."""
    return [
        {
            "type": "input",
            "block_id": "cause",
            "optional": True,
            "label": {"type": "plain_text", "text": f"Cause code{scope}"},
            "element": {
                "type": "plain_text_input",
                "action_id": "cause",
                "placeholder": {"type": "plain_text", "text": "e.g. stock_sync"},
            },
        },
        {
            "type": "input",
            "block_id": "real",
            "optional": True,
            "label": {"type": "plain_text", "text": f"Was it real?{scope}"},
            "element": {
                "type": "radio_buttons",
                "action_id": "real",
                "options": [
                    {"text": {"type": "plain_text", "text": text}, "value": value}
                    for value, text in REAL_CHOICES.items()
                ],
            },
        },
    ]
