"""How long the Silence menu of an exception's Slack message silences its rule.

A choice's key travels in the select option's value (Slack allows 150
characters there, so keys are short); the receiver turns it back into an end:
a duration from the click, or ``None`` for "until this exception resolves".
"""

from __future__ import annotations

from datetime import timedelta

__all__ = ["SILENCE_CHOICES", "SILENCE_LABELS", "UNTIL_RESOLVED"]

UNTIL_RESOLVED = "resolved"

SILENCE_CHOICES: dict[str, timedelta | None] = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "24h": timedelta(hours=24),
    UNTIL_RESOLVED: None,
}

SILENCE_LABELS: dict[str, str] = {
    "1h": "for 1 hour",
    "4h": "for 4 hours",
    "24h": "for 24 hours",
    UNTIL_RESOLVED: "until this exception resolves",
}
