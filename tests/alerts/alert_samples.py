"""Alert payloads as Alertmanager (webhook version 4) and Grafana (version 1) post them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = ["TOKEN", "am_alert", "am_payload", "bearer", "grafana_payload", "signed"]

TOKEN = "test-webhook-token-0123456789"


def am_alert(
    labels: dict[str, str],
    *,
    status: str = "firing",
    fingerprint: str | None = None,
    annotations: dict[str, str] | None = None,
    url: str = "http://prometheus.example:9090/graph?g0.expr=up",
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": labels,
        "annotations": annotations or {"summary": "something is off"},
        "startsAt": "2026-12-07T09:40:12.123456789Z",
        "endsAt": "2026-12-07T09:50:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": url,
        "fingerprint": fingerprint or uuid.uuid4().hex[:16],
    }


def am_payload(*alerts: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}:{alertname="x"}',
            "truncatedAlerts": 0,
            "status": alerts[0]["status"] if alerts else "firing",
            "receiver": "escalator",
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example:9093",
            "alerts": list(alerts),
        }
    ).encode()


def grafana_payload(*alerts: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "receiver": "escalator",
            "status": "firing",
            "orgId": 1,
            "alerts": [
                {**a, "dashboardURL": "", "panelURL": "", "silenceURL": "", "values": {"A": 3}}
                for a in alerts
            ],
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://grafana.example:3000/",
            "version": "1",
            "groupKey": "{}",
            "truncatedAlerts": 0,
            "title": "[FIRING:1]",
            "state": "alerting",
            "message": "",
        }
    ).encode()


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def signed(body: bytes, secret: str, stamp: str | None = None) -> str:
    data = (stamp.encode() + b":" + body) if stamp is not None else body
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
