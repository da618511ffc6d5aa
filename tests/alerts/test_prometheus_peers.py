"""Real peers: Debian's Prometheus scrapes a tiny exporter, its alert rule fires, the real
Alertmanager posts to the real receiver, and an EscalationWorkflow starts on a real
Temporal server with a real worker; the exporter stops breaching, the alert resolves and
the exception resolves itself. The other way round, the same Prometheus scrapes
escalator's /metrics and the test asks it for the open-exception gauge."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from alert_samples import TOKEN
from fakes.channel_stack import ChannelStack, channel_stack, eventually
from monitoring_peers import Peers, exporter, need_binaries, peers
from prometheus_client import CollectorRegistry, generate_latest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from escalator.records.metrics import EscalatorMetrics
from escalator.records.store import Store
from escalator.worker.main import StoreRecorder
from escalator.workflows.contracts import ExceptionState, ExceptionStatus, dedupe_key

pytestmark = [pytest.mark.temporal, pytest.mark.monitoring]

OPEN_GAUGE = 'sum(escalator_open_exceptions{journey="orderToShip"})'


async def status_if_any(stack: ChannelStack, xid: str) -> ExceptionStatus | None:
    try:
        return await stack.status(xid)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def open_gauge(stack: ChannelStack, peers_: Peers) -> float:
    result = await peers_.query(stack.http, OPEN_GAUGE)
    return float(result[0]["value"][1]) if result else 0.0


async def test_alertmanager_raises_and_auto_resolves_and_prometheus_reads_the_gauge(
    client: Client, task_queue: str, tmp_path: Path
) -> None:
    need_binaries()
    started = time.monotonic()
    subject = f"nl2-{uuid.uuid4().hex[:8]}"
    xid = dedupe_key("orderToShip", "awaiting_inventory", subject)
    store = Store.open(f"sqlite:///{tmp_path}/records.db")
    registry = CollectorRegistry()
    EscalatorMetrics(registry, store)
    async with (
        exporter() as breach,
        channel_stack(
            client,
            task_queue,
            recorder=StoreRecorder(store),
            alert_secrets={"ESCALATOR_WEBHOOK_TOKEN": TOKEN},
            metrics=lambda: generate_latest(registry),
        ) as stack,
        peers(
            tmp_path,
            exporter_target=breach.url,
            receiver=stack.url,
            token=TOKEN,
            labels={"journey": "orderToShip", "rule": "awaiting_inventory", "subject": subject},
            escalator_target=stack.url.removeprefix("http://"),
        ) as monitoring,
    ):
        try:
            # The breach: Prometheus fires, Alertmanager posts, the exception opens.
            opened = await eventually(lambda: status_if_any(stack, xid), within=40)
            assert opened.state is ExceptionState.OPEN
            message = await stack.message_for(xid)
            shown = json.dumps(message.blocks)
            assert f"<{monitoring.prometheus}/graph?g0.expr=" in shown  # generatorURL link
            assert "1 orders wait for inventory" in shown  # the annotation, templated
            # escalator's /metrics, scraped by the real Prometheus.
            await eventually(lambda: _at_least_one(stack, monitoring), within=30)

            # Recovery: the alert resolves in Alertmanager, the exception resolves itself.
            breach.value = 0
            resolved = await eventually(lambda: _resolved(stack, xid), within=40)
            assert resolved.resolved_by == "detector"
            assert "alert resolved in alertmanager" in (resolved.resolution_note or "")
            await eventually(lambda: _none_open(stack, monitoring), within=30)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{monitoring.log_tail()}") from err
    store.close()
    assert time.monotonic() - started < 60


async def _at_least_one(stack: ChannelStack, monitoring: Peers) -> bool:
    return await open_gauge(stack, monitoring) >= 1


async def _none_open(stack: ChannelStack, monitoring: Peers) -> bool:
    return await open_gauge(stack, monitoring) == 0


async def _resolved(stack: ChannelStack, xid: str) -> ExceptionStatus | None:
    status = await stack.status(xid)
    return status if status.state is ExceptionState.RESOLVED else None
