"""Running the receiver as a process: wiring from settings, Socket Mode, graceful stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from temporalio.client import Client
from temporalio.service import RetryConfig

from escalator.activities.delivery_ledger import DeliveryLedger, DeliveryRecord
from escalator.activities.slack_client import slack_client
from escalator.client import connect
from escalator.policies.loader import load_policies
from escalator.receiver.alerts import AlertWebhook
from escalator.receiver.app import SlackConfig, build_receiver, run_socket_mode, serve
from escalator.receiver.cover import configured_coverer
from escalator.receiver.lazy_store import lazy_records_store
from escalator.receiver.oncall_feeds import OnCallFeeds
from escalator.receiver.oncall_store import lazy_oncall_store
from escalator.receiver.ready import Readiness
from escalator.receiver.silence import configured_silencer, lazy_silence_store
from escalator.receiver.take_shift import ShiftTaker
from escalator.records.unmatched_alerts import UnmatchedAlertStore
from escalator.settings import Settings

__all__ = ["run_receiver"]

log = logging.getLogger("escalator.receiver")


def records_metrics(settings: Settings) -> Callable[[], bytes]:
    """escalator's metrics for the receiver's /metrics, from the records store, which is
    opened at the first scrape (same reason as LazyLedger: no race for the tables)."""
    registry: list[CollectorRegistry] = []

    def exposition() -> bytes:
        if not registry:
            from escalator.records.metrics import EscalatorMetrics
            from escalator.records.store import Store

            settings.state_dir.mkdir(parents=True, exist_ok=True)
            made = CollectorRegistry()
            EscalatorMetrics(made, Store.open(settings.resolved_database_url))
            registry.append(made)
        return generate_latest(registry[0])

    return exposition


class LazyLedger:
    """The records store's notifications table (the reply codes the worker handed out),
    opened at the first inbound SMS: started next to a fresh worker (`escalator up`),
    the receiver must not race it to create the tables."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ledger: DeliveryLedger | None = None

    def _open(self) -> DeliveryLedger:
        if self._ledger is None:
            from escalator.records.ledger import SqlDeliveryLedger
            from escalator.records.store import Store

            self.settings.state_dir.mkdir(parents=True, exist_ok=True)
            self._ledger = SqlDeliveryLedger(Store.open(self.settings.resolved_database_url))
        return self._ledger

    def find(self, idempotency_key: str) -> DeliveryRecord | None:
        return self._open().find(idempotency_key)

    def record(self, record: DeliveryRecord) -> None:
        self._open().record(record)

    def for_exception(self, exception_id: str) -> list[DeliveryRecord]:
        return self._open().for_exception(exception_id)

    def holder_of_code(self, code: str, since: datetime) -> DeliveryRecord | None:
        return self._open().holder_of_code(code, since)


def lazy_unmatched_store(settings: Settings) -> Callable[[], Awaitable[UnmatchedAlertStore]]:
    """The records' unmatched alerts, opened at the first unmatched alert (the receiver must
    start even while the database is unreachable) and tried again after a failed open."""
    return lazy_records_store(settings, UnmatchedAlertStore)


async def lazy_client(settings: Settings) -> Client:
    """A client that connects at its first call, and again at the next call while Temporal
    is unreachable: the receiver starts (and answers /healthz) without Temporal. Calls fail
    within seconds during an outage, so a person is told at once (Slack waits 3 s)."""
    return await connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        lazy=True,
        connect_timeout=timedelta(seconds=3),
        retry_config=RetryConfig(max_elapsed_time_millis=2000, max_retries=3),
    )


async def run_receiver(
    settings: Settings, *, host: str, port: int, stop: asyncio.Event | None = None
) -> None:
    policies = load_policies([settings.policy_dir])
    client = await lazy_client(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)  # where the SQLite records live
    ready = Readiness(
        client,
        address=settings.temporal_address,
        task_queue=settings.temporal_task_queue,
        database_url=settings.resolved_database_url,
        policies=policies,
    )
    slack = None
    if settings.slack_bot_token and (settings.slack_signing_secret or settings.slack_app_token):
        secret = settings.slack_signing_secret
        slack = SlackConfig(
            signing_secret=secret.get_secret_value() if secret else None,
            client=slack_client(
                settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
            ),
        )
    twilio_token = (
        settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    )
    silences = lazy_silence_store(settings)  # one engine for the command and the menu
    oncall = lazy_oncall_store(settings)  # one for cover, Take this shift and the feeds
    ical = settings.ical_token.get_secret_value() if settings.ical_token else None
    app = build_receiver(
        temporal=client,
        policies=policies,
        ledger=LazyLedger(settings),
        slack=slack,
        twilio_auth_token=twilio_token,
        public_url=settings.public_url,
        silencer=configured_silencer(settings, policies, silences),
        coverer=configured_coverer(oncall, policies),
        taker=ShiftTaker(oncall, policies),
        feeds=OnCallFeeds(policies, ical, oncall) if ical else None,
        silences=silences,
        metrics=records_metrics(settings),
        ready=ready,
        alerts=AlertWebhook(
            temporal=client,
            policies=policies,
            task_queue=settings.temporal_task_queue,
            secret=settings.secret,
            outage=ready.outage,
            unmatched=lazy_unmatched_store(settings),
        ),
        heartbeat_token=(
            settings.webhook_token.get_secret_value() if settings.webhook_token else None
        ),
    )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = await serve(app, host, port)
    probing = asyncio.create_task(ready.run(stop))
    socket_task = None
    if slack and settings.slack_app_token:
        socket_task = asyncio.create_task(
            run_socket_mode(app, settings.slack_app_token.get_secret_value(), stop)
        )
    print(
        f"escalator receiver on http://{host}:{port} (/slack/events: "
        f"{'socket mode' if socket_task else 'on' if slack else 'off: no Slack credentials'}, "
        f"/twilio/sms: {'on' if twilio_token else 'off: no Twilio credentials'}, "
        "/alerts/alertmanager|grafana|generic, /heartbeats/NAME, "
        f"/oncall/*.ics: {'on' if ical else 'off: no ESCALATOR_ICAL_TOKEN'}, /healthz, /readyz)",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        probing.cancel()
        with suppress(asyncio.CancelledError):
            await probing
        if socket_task:
            socket_task.cancel()
            with suppress(asyncio.CancelledError):
                await socket_task
        await runner.cleanup()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
