"""`escalator worker`: the Temporal worker that runs EscalationWorkflows and their activities.

Self-contained: it connects to TEMPORAL_ADDRESS, polls TEMPORAL_TASK_QUEUE,
records into the records store (ESCALATOR_DATABASE_URL, default SQLite under
the state dir), sends through Slack / Twilio when their credentials are set
and through the console otherwise, exports the SDK's Prometheus metrics on
ESCALATOR_METRICS_PORT, installs the digest schedules and the detection schedules at
start (`escalator/worker/digest_startup.py`, `detection_schedules.py`), starts each role's
shift hand-off workflow (`escalator/worker/handoff_startup.py`), and drains in-flight tasks
on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from escalator.activities.channels import ChannelSender, ConsoleSender
from escalator.activities.detection import DetectionActivities, DetectionSetup
from escalator.activities.digest import DigestActivities, DigestSource, NoDigestData
from escalator.activities.handoff import HandoffActivities
from escalator.activities.heartbeat import HeartbeatActivities
from escalator.activities.notify import NotifyActivities
from escalator.activities.oncall import Changes, OnCallActivities, no_changes, store_changes
from escalator.activities.playbook import Action, ConditionChecker, PlaybookActivities
from escalator.activities.records import InMemoryRecorder, RecordActivities, Recorder
from escalator.activities.routing import Decide, RoutingActivities, always_page
from escalator.activities.storm import StormActivities
from escalator.client import connect as connect_client
from escalator.client import with_pydantic
from escalator.records.oncall import OnCallStore
from escalator.settings import Settings, get_settings
from escalator.worker.detection_schedules import start_detection_install
from escalator.worker.digest_startup import start_digest_install
from escalator.worker.handoff_startup import start_handoff_workflows
from escalator.worker.heartbeat_startup import start_heartbeat_monitors
from escalator.workflows.activity_contracts import Delivery, Notification
from escalator.workflows.detection import DetectionWorkflow
from escalator.workflows.digest import DigestWorkflow
from escalator.workflows.escalation import EscalationWorkflow
from escalator.workflows.handoff import HandoffWorkflow
from escalator.workflows.heartbeat import HeartbeatWorkflow
from escalator.workflows.storm import StormWorkflow

__all__ = ["StoreRecorder", "Wiring", "build_worker", "connect", "run_worker"]

log = logging.getLogger("escalator.worker")

# Measured on 2 cores (see docs/benchmarks/escalation.md): 20 workflow-task pollers
# double throughput over the default 5. A cached escalation costs ~0.22 MB (the
# sandbox's module copies, the policy snapshot, the timeline), so the SDK's default
# cache of 1000 would put the worker near 400 MB; 400 keeps it under 300 MB however
# many are open (an evicted escalation replays its short history when its timer fires).
WORKFLOW_TASK_POLLS = 20
ACTIVITY_TASK_POLLS = 8
MAX_CACHED_WORKFLOWS = 400
GRACEFUL_SHUTDOWN = timedelta(seconds=20)


@dataclass
class Wiring:
    """The activity implementations a worker runs with; tests pass in-memory ones."""

    recorder: Recorder = field(default_factory=InMemoryRecorder)
    senders: Mapping[str, ChannelSender] = field(default_factory=dict)
    fallback: ChannelSender = field(default_factory=ConsoleSender)
    decide: Decide = always_page
    actions: Mapping[str, Action] = field(default_factory=dict)
    checker: ConditionChecker | None = None
    digest_source: DigestSource | None = None  # None: digests list no tickets and no SLOs
    oncall_changes: Changes = no_changes  # overrides and vacations (the records database)
    # Detection on Temporal (ESCALATOR_DETECT_*); None: a detection run fails, saying so.
    detection: DetectionSetup | None = None

    def activities(self) -> Sequence[Any]:
        records = RecordActivities(self.recorder)
        notify = NotifyActivities(self.senders, self.recorder, self.fallback)
        routing = RoutingActivities(self.decide)
        playbook = PlaybookActivities(self.actions, self.checker)
        digest = DigestActivities(self.digest_source or NoDigestData(), self.senders, self.fallback)
        heartbeats = HeartbeatActivities()
        handoffs = HandoffActivities(self.oncall_changes, self.senders, self.fallback)
        return [
            records.record_steps,
            notify.deliver,
            notify.notify,
            routing.decide_routing,
            playbook.run_playbook_action,
            playbook.recheck_condition,
            digest.post_digest,
            StormActivities().storm_gate,
            heartbeats.heartbeat_missed,
            heartbeats.heartbeat_seen,
            OnCallActivities(self.oncall_changes).resolve_on_call,
            handoffs.next_handoff,
            handoffs.post_handoff,
            # One per worker: its cache of events read is this replica's own.
            DetectionActivities(self.detection).detect,
        ]


STICKY_TIMEOUT = timedelta(seconds=3)


def build_worker(
    client: Client,
    task_queue: str,
    wiring: Wiring | None = None,
    *,
    max_cached_workflows: int = MAX_CACHED_WORKFLOWS,
    **options: Any,
) -> Worker:
    """The worker for `task_queue`, with escalator's tuned pollers (override via options)."""
    client = with_pydantic(client)
    tuned: dict[str, Any] = {
        "max_concurrent_workflow_task_polls": WORKFLOW_TASK_POLLS,
        "max_concurrent_activity_task_polls": ACTIVITY_TASK_POLLS,
        "max_cached_workflows": max_cached_workflows,
        "graceful_shutdown_timeout": GRACEFUL_SHUTDOWN,
        # A workflow's next task goes to the worker that has it cached; when that worker
        # died, the task waits this long before any worker may take it. Temporal's 10 s
        # default adds to every page of a crashed worker's exceptions (issue 11).
        "sticky_queue_schedule_to_start_timeout": STICKY_TIMEOUT,
    }
    tuned.update(options)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            EscalationWorkflow,
            StormWorkflow,
            DigestWorkflow,
            HeartbeatWorkflow,
            HandoffWorkflow,
            DetectionWorkflow,
        ],
        activities=(wiring or Wiring()).activities(),
        activity_executor=ThreadPoolExecutor(4),
        **tuned,
    )


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await connect_client(
        settings.temporal_address, namespace=settings.temporal_namespace, runtime=runtime
    )


def metrics_runtime(port: int | None) -> Runtime | None:
    """A runtime whose SDK metrics are served for Prometheus on ``port``."""
    if not port:
        return None
    bind = f"0.0.0.0:{port}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


def serve_escalator_metrics(settings: Settings, wiring: Wiring) -> asyncio.Task[None] | None:
    """Serve escalator's metrics on ESCALATOR_METRICS_PORT (read from the records store at
    scrape time); keep the error-budget gauge fresh from ESCALATOR_ROUTING_LOGS, if set."""
    if not settings.metrics_port:
        return None
    from escalator.records.metrics import start_metrics_server
    from escalator.worker.routing import configured_logs

    store = wiring.recorder.store if isinstance(wiring.recorder, StoreRecorder) else None
    metrics, _server, _thread = start_metrics_server(settings.metrics_port, store=store)
    logs = configured_logs(settings)
    if not logs:
        return None
    from escalator.policy_source import load_configured_policies

    journeys = [j for j in load_configured_policies(settings).journeys if j.name in logs]

    async def refresh() -> None:
        while True:
            try:
                frames = {name: await asyncio.to_thread(read) for name, read in logs.items()}
                metrics.update_error_budgets(journeys, frames)
            except Exception as err:  # a broken log must not stop the worker
                log.warning("error-budget metrics not updated: %s", err)
            await asyncio.sleep(60)

    return asyncio.create_task(refresh())


class StoreRecorder:
    """The records store (`escalator.records.store.Store`) behind the `Recorder` protocol."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def record_step(self, step: Any) -> None:
        await self.store.record_step(step)

    async def record_notification(
        self, notification: Notification, delivery: Delivery, status: str, attempt: int
    ) -> None:
        await self.store.record_notification(
            idempotency_key=notification.idempotency_key,
            exception_id=notification.exception_id,
            run_id=notification.run_id,
            level=notification.level,
            channel=notification.channel,
            target=notification.target,
            status=status,
            provider_message_id=delivery.provider_message_id,
            error=delivery.error,
            attempts=attempt,
        )


def production_wiring(settings: Settings) -> Wiring:
    """Records in the SQL store; Slack, SMS and webhooks when configured, the console
    otherwise."""
    from escalator.records.ledger import SqlDeliveryLedger
    from escalator.records.store import Store

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(settings.resolved_database_url)
    senders: dict[str, ChannelSender] = {}
    ledger = SqlDeliveryLedger(store)
    if settings.slack_enabled and settings.slack_bot_token:
        from escalator.activities.slack_client import slack_client
        from escalator.activities.slack_context import default_context
        from escalator.activities.slack_sender import SlackSender

        slack = SlackSender(
            slack_client(
                settings.slack_bot_token.get_secret_value(),
                base_url=settings.slack_api_url,
                retries=False,  # Temporal retries the deliver activity
            ),
            ledger,
            default_context(settings.policy_dir),
        )
        senders["slack"] = senders["slack_dm"] = slack
    if settings.twilio_enabled and settings.twilio_from_number:
        from escalator.activities.sms_sender import SmsSender
        from escalator.activities.sms_twilio import twilio_client

        assert settings.twilio_account_sid and settings.twilio_auth_token
        twilio = twilio_client(
            settings.twilio_account_sid.get_secret_value(),
            settings.twilio_auth_token.get_secret_value(),
            base_url=settings.twilio_api_url,
            retries=0,  # Temporal retries the deliver activity
        )
        senders["sms"] = senders["voice"] = SmsSender(twilio, ledger, settings.twilio_from_number)
    from escalator.worker.webhooks import webhook_sender

    webhooks = webhook_sender(settings, ledger)
    if webhooks is not None:
        senders["webhook"] = webhooks
    from escalator.activities.digest import StoreDigestSource
    from escalator.worker.routing import configured_logs, routing_decide

    return Wiring(
        detection=detection_setup(settings, store.engine),
        recorder=StoreRecorder(store),
        senders=senders,
        decide=routing_decide(settings, store),
        digest_source=StoreDigestSource(store.engine, configured_logs(settings)),
        oncall_changes=store_changes(OnCallStore(store.engine)),
    )


def detection_setup(settings: Settings, engine: Any) -> DetectionSetup | None:
    """Detection on Temporal from the ESCALATOR_DETECT_* settings and the records database."""
    if not (settings.detect_table or "").strip():
        return None
    from escalator.detectors.watch_sources import watch_sources
    from escalator.policy_source import load_configured_policies
    from escalator.records.watch_states import WatchStateStore

    return DetectionSetup(
        store=WatchStateStore(engine),
        load_policies=lambda: load_configured_policies(settings),
        sources=lambda policies: watch_sources(settings, policies),
        state_dir=settings.state_dir,
    )


async def run_worker(
    settings: Settings | None = None,
    wiring: Wiring | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (or ``stop``), then finish in-flight tasks and exit."""
    settings = settings or get_settings()
    runtime = metrics_runtime(settings.sdk_metrics_port)
    client = await connect(settings, runtime)
    wiring = wiring or production_wiring(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = build_worker(
        client, settings.temporal_task_queue, wiring, max_cached_workflows=settings.worker_cache
    )
    budgets = serve_escalator_metrics(settings, wiring)
    digests = start_digest_install(client, settings)  # beside the worker, never blocking it
    monitors = start_heartbeat_monitors(client, settings)
    handoffs = start_handoff_workflows(client, settings)  # one per role with a schedule
    detections = start_detection_install(client, settings)
    log.info(
        "escalator worker on %s, task queue %s%s%s",
        settings.temporal_address,
        settings.temporal_task_queue,
        f", metrics on :{settings.metrics_port}/metrics" if settings.metrics_port else "",
        f", SDK metrics on :{settings.sdk_metrics_port}/metrics"
        if settings.sdk_metrics_port
        else "",
    )
    async with worker:
        print(f"escalator worker ready (task queue {settings.temporal_task_queue})", flush=True)
        await stop.wait()
        print("escalator worker: shutting down, finishing in-flight tasks", flush=True)
        if budgets is not None:
            budgets.cancel()
        if digests is not None:
            digests.cancel()
        monitors.cancel()
        handoffs.cancel()
        detections.cancel()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
