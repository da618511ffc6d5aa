"""All settings in one place, read from the environment (and an optional .env file).

Secrets are `SecretStr`: they never appear in a repr, a log line or `policy show`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_STATE_DIR", "Settings", "get_settings"]

DEFAULT_STATE_DIR = Path(".escalator")
SHIPPED_POLICY_DIR = Path(__file__).resolve().parent / "policies" / "examples"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    temporal_address: str = Field(default="localhost:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    temporal_task_queue: str = Field(default="escalator", alias="TEMPORAL_TASK_QUEUE")
    temporal_ui_url: str = Field(default="http://localhost:8233", alias="TEMPORAL_UI_URL")

    state_dir: Path = Field(default=DEFAULT_STATE_DIR, alias="ESCALATOR_STATE_DIR")
    database_url: str | None = Field(default=None, alias="ESCALATOR_DATABASE_URL")
    policy_dir: Path = Field(default=SHIPPED_POLICY_DIR, alias="ESCALATOR_POLICY_DIR")
    # escalator's own metrics (open exceptions, time to restore, notifications, error
    # budget) on the worker; the receiver serves them at /metrics on its own port.
    metrics_port: int | None = Field(default=None, alias="ESCALATOR_METRICS_PORT")
    # The Temporal SDK runtime's metrics (pollers, task latencies): a second exporter.
    sdk_metrics_port: int | None = Field(default=None, alias="ESCALATOR_SDK_METRICS_PORT")
    # Escalations kept in the worker's cache (~0.22 MB each; evicted ones replay on demand).
    worker_cache: int = Field(default=400, ge=0, alias="ESCALATOR_WORKER_CACHE")
    receiver_port: int = Field(default=3000, alias="ESCALATOR_RECEIVER_PORT")
    receiver_host: str = Field(default="0.0.0.0", alias="ESCALATOR_RECEIVER_HOST")
    # Routing: "budget" decides page/notify/ticket/suppress from error-budget burn rates,
    # support hours, silences and role volume (docs/routing.md); "page" pages every
    # exception no silence holds (an opt-out for a deployment that wants every page).
    routing: Literal["budget", "page"] = Field(default="budget", alias="ESCALATOR_ROUTING")
    # Event logs the burn rates are computed from: "orderToShip=orders.csv,ticketToResolution=t.jsonl".
    routing_logs: str | None = Field(default=None, alias="ESCALATOR_ROUTING_LOGS")
    max_pages_per_hour: int = Field(default=10, ge=1, alias="ESCALATOR_MAX_PAGES_PER_HOUR")
    # The routing logs are a replay at this many times real time (the demo): burn rates and
    # support hours are judged at each detection's log time. Unset for live logs.
    routing_replay_speed: float | None = Field(
        default=None, gt=0, alias="ESCALATOR_ROUTING_REPLAY_SPEED"
    )
    # The worker creates/updates/deletes the digest schedules when it starts (false: only
    # `escalator digest install` does).
    digest_install: bool = Field(default=True, alias="ESCALATOR_DIGEST_INSTALL")
    # Detection on Temporal (docs/deployment.md): the worker installs one schedule per
    # journey whose runs read its SQL event table. Each takes one value for every journey,
    # or per-journey entries, or both: "events" / "orderToShip=orders,ticketToResolution=tickets"
    # / "1m,orderToShip=30s". Unset table: no detection schedules.
    detect_table: str | None = Field(default=None, alias="ESCALATOR_DETECT_TABLE")
    # SQLAlchemy URL(s) of the event tables (a secret: URLs carry passwords).
    detect_source: SecretStr | None = Field(default=None, alias="ESCALATOR_DETECT_SOURCE")
    detect_every: str = Field(default="1m", alias="ESCALATOR_DETECT_EVERY")
    detect_id_column: str = Field(default="id", alias="ESCALATOR_DETECT_ID_COLUMN")
    # How long one detection run may take, and so how long a worker that died mid-run
    # holds its journey (the lease in watch_states) before another run takes it over.
    detect_lease: str = Field(default="5m", alias="ESCALATOR_DETECT_LEASE")
    # The URL Twilio calls (it signs that URL): set it when a proxy or tunnel sits in front.
    public_url: str | None = Field(default=None, alias="ESCALATOR_PUBLIC_URL")

    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")

    twilio_account_sid: SecretStr | None = Field(default=None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(default=None, alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(default=None, alias="TWILIO_FROM_NUMBER")
    twilio_api_url: str | None = Field(default=None, alias="TWILIO_API_URL")

    # The token in the URL of the receiver's on-call iCal feeds (/oncall/ROLE.ics?token=...);
    # unset: the feeds are not served.
    ical_token: SecretStr | None = Field(default=None, alias="ESCALATOR_ICAL_TOKEN")

    # The bearer token alert senders present at /alerts/* (an integration's default).
    webhook_token: SecretStr | None = Field(default=None, alias="ESCALATOR_WEBHOOK_TOKEN")

    def secret(self, name: str) -> SecretStr | None:
        """The secret an integration's policy names (an environment variable, or an
        entry of the .env file), never logged; None when it is unset or empty."""
        if name == "ESCALATOR_WEBHOOK_TOKEN":
            return self.webhook_token or None
        value = os.environ.get(name)
        if value is None:
            env_file = self.model_config.get("env_file")
            if isinstance(env_file, str) and Path(env_file).is_file():
                value = dotenv_values(env_file).get(name)
        return SecretStr(value) if value else None

    # Secrets that sign outbound webhooks (`webhooks:` in the policies), by the webhook's
    # `secret` name: "ticketing=5f3a...,statuspage=9c1e..." (docs/integrations.md).
    webhook_secrets: SecretStr | None = Field(default=None, alias="ESCALATOR_WEBHOOK_SECRETS")

    @property
    def resolved_database_url(self) -> str:
        """The records database: the SQLite file under the state dir unless a URL is set."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'records.db').as_posix()}"

    @property
    def temporal_db_file(self) -> Path:
        return self.state_dir / "temporal.db"

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    def webhook_secret_map(self) -> dict[str, str]:
        """``ESCALATOR_WEBHOOK_SECRETS`` by name; a malformed entry is an error naming it
        by position (never its value: it is a secret)."""
        raw = self.webhook_secrets.get_secret_value() if self.webhook_secrets else ""
        found: dict[str, str] = {}
        for i, entry in enumerate(e.strip() for e in raw.split(",")):
            if not entry:
                continue
            name, sep, value = entry.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise ValueError(
                    f"ESCALATOR_WEBHOOK_SECRETS entry {i + 1} is not name=secret; "
                    "write 'ticketing=<secret>,statuspage=<secret>'"
                )
            found[name.strip()] = value.strip()
        return found

    @property
    def twilio_enabled(self) -> bool:
        return self.twilio_account_sid is not None and self.twilio_auth_token is not None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
