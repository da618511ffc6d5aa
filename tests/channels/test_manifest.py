"""The shipped Slack app manifest matches what the receiver serves and the senders call."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

from escalator.activities.slack_blocks import RESOLVE_CALLBACK

MANIFEST = Path(__file__).resolve().parents[2] / "slack-app-manifest.yaml"

# Every Slack Web API method escalator calls, and the bot scope it needs.
METHOD_SCOPES = {
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "conversations.history": {"channels:history", "groups:history", "im:history"},
    "conversations.open": {"im:write"},
    "conversations.list": {"channels:read", "groups:read"},
    "views.open": set(),
}


def load() -> dict:
    return YAML(typ="safe").load(MANIFEST.read_text())


def test_urls_point_at_the_receiver_route() -> None:
    m = load()
    [command] = m["features"]["slash_commands"]
    assert command["command"] == "/escalator"
    assert command["url"].endswith("/slack/events")
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert "socket_mode_enabled" in m["settings"]


def test_scopes_cover_every_method_and_nothing_more() -> None:
    scopes = set(load()["oauth_config"]["scopes"]["bot"])
    needed = set().union(*METHOD_SCOPES.values()) | {"commands", "im:write", "chat:write.public"}
    assert scopes == needed


def test_every_method_the_code_calls_is_listed() -> None:
    """A new Slack call in the code without a scope decision here fails this test."""
    root = Path(__file__).resolve().parents[2]
    code = "\n".join(
        (root / p).read_text()
        for p in ("escalator/activities/slack_sender.py", "escalator/receiver/slack.py")
    )
    used = set(re.findall(r"client\.(chat_\w+|conversations_\w+|views_\w+|users_\w+)\(", code))
    # Lookups after a crash go through SlackSender._ask("conversations.x", ...).
    used |= {m.replace(".", "_") for m in re.findall(r'_ask\(\s*"([\w.]+)"', code)}
    listed = {m.replace(".", "_") for m in METHOD_SCOPES}
    assert {"chat_postMessage", "chat_update", "views_open", "conversations_open"} <= used
    assert used <= listed, used - listed


def test_the_modal_callback_is_escalators() -> None:
    assert RESOLVE_CALLBACK.startswith("escalator.")
