"""What every Slack button listener of the receiver does alike: who clicked, and telling
that member something in a message only they see (the clicked message stays)."""

from __future__ import annotations

from typing import Any

__all__ = ["clicker", "tell_clicker"]


def clicker(body: dict[str, Any]) -> str:
    """The Slack user id of whoever clicked ("" when the request names none)."""
    user: str = (body.get("user") or {}).get("id", "")
    return user


async def tell_clicker(respond: Any, text: str) -> None:
    """An ephemeral answer to the click: only the clicker sees it; the message stays."""
    await respond(text=text, response_type="ephemeral", replace_original=False)
