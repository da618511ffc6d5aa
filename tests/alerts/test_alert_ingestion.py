"""Alerts posted to the real receiver become exceptions on a real Temporal server, run by
a real worker (Slack through the real client against the fake Slack API)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alert_samples import TOKEN, am_alert, am_payload, bearer, grafana_payload, signed
from fakes.channel_stack import ChannelStack, channel_stack, eventually
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from escalator.policies.integrations import AlertRoute, GenericFields, Integration, IntegrationAuth
from escalator.policy_source import load_configured_policies
from escalator.workflows.contracts import ExceptionState, ExceptionStatus, dedupe_key

pytestmark = pytest.mark.temporal

HMAC_SECRET = "grafana-signing-secret"
PASSWORD = "grafana-basic-password"
SECRETS = {
    "ESCALATOR_WEBHOOK_TOKEN": TOKEN,
    "GRAFANA_PASSWORD": PASSWORD,
    "GRAFANA_HMAC": HMAC_SECRET,
}
GRAFANA = Integration(
    name="grafana-cloud",
    source="grafana",
    auth=IntegrationAuth(
        bearer_token_env=None,
        basic_user="grafana",
        basic_password_env="GRAFANA_PASSWORD",
        hmac_secret_env="GRAFANA_HMAC",
        hmac_header="X-Grafana-Alerting-Signature",
        hmac_timestamp_header="X-Grafana-Alerting-Signature-Timestamp",
    ),
    routes=[
        AlertRoute(
            match={"service": "warehouse"},
            journey="orderToShip",
            rule="awaiting_inventory",
            subject="{site}",
        )
    ],
    labels_name_rule=False,
)
GENERIC = Integration(
    name="uptime",
    source="generic",
    fields=GenericFields(
        alerts="data.checks",
        labels=None,
        label_fields={"journey": "meta.journey", "rule": "meta.rule", "subject": "id"},
        status="state",
        resolved_values=["up"],
        fingerprint="id",
        annotations=None,
        url="link",
    ),
)


@pytest.fixture
async def stack(client: Client, task_queue: str) -> AsyncIterator[ChannelStack]:
    examples = load_configured_policies()
    policies = examples.model_copy(
        update={"integrations": [*examples.integrations, GRAFANA, GENERIC]}
    )
    async with channel_stack(
        client, task_queue, policies=policies, alert_secrets=SECRETS, metrics=lambda: b""
    ) as s:
        yield s


async def post(
    stack: ChannelStack, path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    async with stack.http.post(
        f"{stack.url}{path}", data=body, headers=bearer() if headers is None else headers
    ) as resp:
        return resp.status, json.loads(await resp.text())


async def exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def inventory_alert(status: str = "firing", fingerprint: str | None = None) -> dict[str, Any]:
    return am_alert(
        {"alertname": "StockStuck", "journey": "orderToShip", "rule": "awaiting_inventory"},
        status=status,
        fingerprint=fingerprint,
        annotations={"summary": "sku-42 stuck in NL2", "description": "no stock since 09:00"},
    )


async def test_alertmanager_alert_raises_repeats_and_auto_resolves(
    stack: ChannelStack, workflow_environment_kind: str
) -> None:
    fingerprint = uuid.uuid4().hex[:16]
    xid = dedupe_key("orderToShip", "awaiting_inventory", fingerprint)
    status, body = await post(
        stack, "/alerts/alertmanager", am_payload(inventory_alert(fingerprint=fingerprint))
    )
    assert (status, body["accepted"]) == (202, [xid])
    opened = await stack.status(xid)
    assert (opened.state, opened.subject, opened.occurrences) == (
        ExceptionState.OPEN,
        fingerprint,
        1,
    )
    # Labels and annotations reach the owner in Slack, the generatorURL as a link ...
    message = await stack.message_for(xid)
    shown = json.dumps(message.blocks)
    assert "<http://prometheus.example:9090/graph?g0.expr=up|StockStuck>" in shown
    assert "sku-42 stuck in NL2" in shown and "alertname=StockStuck" in shown
    # ... and the incident lead in the Temporal UI (static details, Markdown; the
    # time-skipping server does not keep them).
    if workflow_environment_kind == "local":
        details = await stack.client.get_workflow_handle(xid).describe()
        text = await details.static_details() or ""
        assert "[StockStuck](http://prometheus.example:9090/graph?g0.expr=up)" in text
        assert "| annotation.summary | sku-42 stuck in NL2 |" in text

    # Alertmanager notifies again: the same exception, one more occurrence.
    status, body = await post(
        stack, "/alerts/alertmanager", am_payload(inventory_alert(fingerprint=fingerprint))
    )
    assert (status, body["accepted"]) == (202, [xid])
    await eventually(lambda: _occurrences(stack, xid, 2))

    # Resolved in Alertmanager: the condition clears and the exception resolves itself.
    status, body = await post(
        stack,
        "/alerts/alertmanager",
        am_payload(inventory_alert("resolved", fingerprint=fingerprint)),
    )
    assert (status, body["resolved"]) == (202, [xid])
    final = await eventually(lambda: _resolved(stack, xid))
    assert final.resolved_by == "detector"
    assert "alert resolved in alertmanager" in (final.resolution_note or "")


async def _occurrences(stack: ChannelStack, xid: str, n: int) -> bool:
    return (await stack.status(xid)).occurrences == n


async def _resolved(stack: ChannelStack, xid: str) -> ExceptionStatus | None:
    status = await stack.status(xid)
    return status if status.state is ExceptionState.RESOLVED else None


async def test_routes_map_label_sets_to_rule_subject_and_severity(stack: ChannelStack) -> None:
    provider = f"psp-{uuid.uuid4().hex[:6]}"
    printer = am_alert(
        {"alertname": "PrinterJam", "service": "label-printer", "severity": "critical"}
    )
    status, body = await post(
        stack,
        "/alerts/alertmanager",
        am_payload(am_alert({"alertname": "PaymentProviderErrors", "provider": provider}), printer),
    )
    assert status == 202, body
    by_provider = dedupe_key("orderToShip", "payment_failure_rate", provider)
    by_printer = dedupe_key("orderToShip", "label_print_failed", str(printer["fingerprint"]))
    assert sorted(body["accepted"]) == sorted([by_provider, by_printer])
    assert (await stack.status(by_provider)).severity == "high"  # the rule's own
    assert (await stack.status(by_printer)).severity == "critical"  # the route's


async def test_unmatched_alert_is_answered_422_and_raises_nothing(stack: ChannelStack) -> None:
    stray = am_alert({"alertname": "DiskFull", "instance": "db-1"})
    wrong = am_alert({"journey": "orderToShip", "rule": "no_such_rule"})
    good = inventory_alert()
    status, body = await post(stack, "/alerts/alertmanager", am_payload(stray, wrong, good))
    assert status == 422
    reasons = {u["fingerprint"]: u["reason"] for u in body["unmatched"]}
    assert (
        "none of the 2 routes of integration 'prometheus' matches" in reasons[stray["fingerprint"]]
    )
    assert "alertname='DiskFull'" in reasons[stray["fingerprint"]]
    assert "label rule='no_such_rule' names no loaded rule" in reasons[wrong["fingerprint"]]
    # The alert that did map is raised all the same.
    good_id = dedupe_key("orderToShip", "awaiting_inventory", str(good["fingerprint"]))
    assert body["accepted"] == [good_id] and await exists(stack.client, good_id)
    assert not await exists(
        stack.client, dedupe_key("orderToShip", "no_such_rule", str(wrong["fingerprint"]))
    )
    # Counted for the operator, on the receiver's /metrics.
    async with stack.http.get(f"{stack.url}/metrics") as resp:
        exposition = await resp.text()
    assert 'escalator_alerts_total{integration="prometheus",outcome="unmatched"} 2.0' in exposition
    assert 'escalator_alerts_total{integration="prometheus",outcome="accepted"} 1.0' in exposition


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-the-token"}, 403),
        ({"Authorization": "Basic " + base64.b64encode(b"a:b").decode()}, 401),
    ],
)
async def test_unauthenticated_or_forged_alerts_raise_nothing(
    stack: ChannelStack, headers: dict[str, str], expected: int, caplog: pytest.LogCaptureFixture
) -> None:
    alert = inventory_alert()
    status, body = await post(stack, "/alerts/alertmanager", am_payload(alert), headers)
    assert status == expected and "error" in body
    assert "refused alerts for integration 'prometheus'" in caplog.text
    xid = dedupe_key("orderToShip", "awaiting_inventory", str(alert["fingerprint"]))
    assert not await exists(stack.client, xid)


async def test_grafana_with_basic_auth_and_timestamped_signature(stack: ChannelStack) -> None:
    site = f"nl-{uuid.uuid4().hex[:6]}"
    body = grafana_payload(am_alert({"alertname": "Stock", "service": "warehouse", "site": site}))
    stamp = str(int(time.time()))
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"grafana:{PASSWORD}".encode()).decode(),
        "X-Grafana-Alerting-Signature": signed(body, HMAC_SECRET, stamp),
        "X-Grafana-Alerting-Signature-Timestamp": stamp,
    }
    status, answer = await post(stack, "/alerts/grafana", body, headers)
    assert (status, answer["accepted"]) == (
        202,
        [dedupe_key("orderToShip", "awaiting_inventory", site)],
    )
    # The very same signed request again is a replay.
    status, answer = await post(stack, "/alerts/grafana", body, headers)
    assert (status, answer["error"]) == (403, "replayed request")
    # A body changed after signing is a forgery.
    forged = body.replace(site.encode(), b"nl-other")
    status, answer = await post(stack, "/alerts/grafana", forged, headers)
    assert (status, answer["error"]) == (403, "bad signature")


async def test_generic_json_with_field_paths(stack: ChannelStack) -> None:
    check = f"chk-{uuid.uuid4().hex[:6]}"
    item = {
        "id": check,
        "state": "down",
        "link": "https://uptime.example/checks/1",
        "meta": {"journey": "orderToShip", "rule": "awaiting_inventory"},
    }
    xid = dedupe_key("orderToShip", "awaiting_inventory", check)
    body = json.dumps({"data": {"checks": [item]}}).encode()
    status, answer = await post(stack, "/alerts/generic", body)
    assert (status, answer["accepted"]) == (202, [xid])
    assert (await stack.status(xid)).state is ExceptionState.OPEN
    body = json.dumps({"data": {"checks": [{**item, "state": "up"}]}}).encode()
    status, answer = await post(stack, "/alerts/generic", body)
    assert (status, answer["resolved"]) == (202, [xid])
    await eventually(lambda: _resolved(stack, xid))


async def test_wrong_payload_and_unknown_integration(stack: ChannelStack) -> None:
    status, body = await post(stack, "/alerts/alertmanager", b'{"version": "3", "alerts": []}')
    assert status == 400 and "version '4'" in str(body["error"])
    status, body = await post(stack, "/alerts/alertmanager", b"not json")
    assert status == 400 and "not JSON" in str(body["error"])
    status, body = await post(stack, "/alerts/grafana/nope", grafana_payload())
    assert status == 404 and "no grafana integration named 'nope'" in str(body["error"])
    status, body = await post(stack, "/alerts/pagerduty", b"{}")
    assert status == 404 and "unknown alert source" in str(body["error"])
