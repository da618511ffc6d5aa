"""Sample exceptions and notifications for the channel tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from escalator.activities.channels import Notification
from escalator.workflows.contracts import ExceptionState, ExceptionStatus

XID = "exc:orderToShip:awaiting_inventory:ORD-1042"


def make_status(**overrides: Any) -> ExceptionStatus:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "exception_id": XID,
        "journey": "orderToShip",
        "rule": "awaiting_inventory",
        "kind": "latency",
        "subject": "ORD-1042",
        "severity": "high",
        "state": ExceptionState.OPEN,
        "level": 1,
        "owner_role": "inventory",
        "notified_roles": ["inventory"],
        "onset": now - timedelta(hours=2, minutes=10, seconds=5),
        "detected_at": now,
        "ack_due": now + timedelta(minutes=30),
        "policy_version": "abc123",
    }
    fields.update(overrides)
    return ExceptionStatus(**fields)


def make_notification(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "exception_id": XID,
        "idempotency_key": f"{XID}/run-1/1/slack/#ops-inventory",
        "level": 1,
        "role": "inventory",
        "channel": "slack",
        "target": "#ops-inventory",
        "reason": "first",
        "status": make_status(),
    }
    fields.update(overrides)
    return Notification(**fields)
