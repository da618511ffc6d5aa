"""Outbound webhooks: other tools (ticketing, chat, status pages) an escalation level can
notify with ``webhook:NAME`` in its channels.

The policy names the URL and which secret signs the requests; the secret itself never
sits in a policy file: it comes from the settings (``ESCALATOR_WEBHOOK_SECRETS``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, StringConstraints

from escalator.policies.base import Name, PolicyModel
from escalator.policies.duration import Duration

__all__ = ["WEBHOOK_PREFIX", "Webhook", "WebhookChannel", "webhook_name"]

WEBHOOK_PREFIX = "webhook:"

# A level's channel naming a declared webhook, e.g. ``webhook:ticketing``.
WebhookChannel = Annotated[
    str, StringConstraints(pattern=r"^webhook:[A-Za-z][A-Za-z0-9_.-]*$", max_length=88)
]


def webhook_name(channel: str) -> str | None:
    """``webhook:ticketing`` -> ``ticketing``; None for any other channel."""
    return channel[len(WEBHOOK_PREFIX) :] if channel.startswith(WEBHOOK_PREFIX) else None


class Webhook(PolicyModel):
    """A tool that receives signed JSON when an escalation level names ``webhook:NAME``."""

    name: Name
    """The webhook's name, referenced by escalation levels as `webhook:NAME`."""
    url: str = Field(pattern=r"^https?://[^\s]+$")
    """Where the signed JSON is POSTed (`https://…`; `http://` only on a trusted network)."""
    secret: Name | None = None
    """Which entry of `ESCALATOR_WEBHOOK_SECRETS` signs the requests; default: the webhook's name."""
    timeout: Duration = timedelta(seconds=10)
    """How long one attempt waits for an answer before it is retried."""

    @property
    def secret_ref(self) -> str:
        return self.secret or self.name
