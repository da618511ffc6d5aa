"""Slack and Twilio credentials are secrets: never in a repr, a dump or a log line."""

from __future__ import annotations

import logging

import pytest

from escalator.settings import Settings

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-very-secret-bot-token",
    "SLACK_SIGNING_SECRET": "signing-secret-value-123",
    "SLACK_APP_TOKEN": "xapp-very-secret-app-token",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcd",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token-secret",
}


def test_secrets_are_read_but_never_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    # They are read (the clients need them) ...
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == SECRETS["SLACK_BOT_TOKEN"]
    assert settings.slack_enabled and settings.twilio_enabled
    # ... but no way of showing the settings reveals them.
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("escalator.test").info("settings: %s %r", settings, settings)
    views = [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())]
    shown = " ".join([*views, caplog.text])
    for value in SECRETS.values():
        assert value not in shown
