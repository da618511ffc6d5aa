"""Timeline steps of small exceptions, as the escalation workflow records them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from escalator.workflows.contracts import StepKind, TimelineStep

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
MIN = timedelta(minutes=1)


def step(
    kind: StepKind,
    seq: int,
    minutes: float,
    *,
    exc: str = "exc:orderToShip:payment_pending:o-1",
    run: str = "run-1",
    **fields: Any,
) -> TimelineStep:
    return TimelineStep(
        exception_id=exc, run_id=run, seq=seq, kind=kind, at=T0 + minutes * MIN, **fields
    )


def detected(
    exc: str = "exc:orderToShip:payment_pending:o-1", run: str = "run-1", **extra: Any
) -> TimelineStep:
    detail = {
        "journey": "orderToShip",
        "rule": "payment_pending",
        "kind": "latency",
        "subject": "o-1",
        "severity": "high",
        "policy_version": "abc123",
        "onset": (T0 - 20 * MIN).isoformat(),
        "detected_at": T0.isoformat(),
        "owner_role": "billing",
        "reopened_from": None,
        "occurrences": 1,
        "payload": {"amount": 12.5},
        **extra,
    }
    return step(StepKind.DETECTED, 1, 0, exc=exc, run=run, detail=detail)


def lifecycle(
    exc: str = "exc:orderToShip:payment_pending:o-1", run: str = "run-1"
) -> list[TimelineStep]:
    """Detected, routed, paged level 1, escalated to level 2, acknowledged, resolved."""
    return [
        detected(exc, run),
        step(
            StepKind.ROUTED, 2, 0, exc=exc, run=run, detail={"decision": "page", "burn_rate": 15.2}
        ),
        step(
            StepKind.NOTIFIED,
            3,
            1,
            exc=exc,
            run=run,
            level=1,
            role="billing",
            detail={
                "channel": "slack",
                "target": "#billing",
                "idempotency_key": f"{exc}/{run}/3/slack",
                "provider_message_id": "1700.1",
                "status": "sent",
                "error": None,
            },
        ),
        step(
            StepKind.ESCALATED,
            4,
            16,
            exc=exc,
            run=run,
            level=2,
            role="finance-lead",
            detail={"level": 2, "role": "finance-lead"},
        ),
        step(StepKind.ACKNOWLEDGED, 5, 20, exc=exc, run=run, actor="ana", detail={"actor": "ana"}),
        step(StepKind.OCCURRED_AGAIN, 6, 30, exc=exc, run=run, detail={"occurrences": 2}),
        step(
            StepKind.RESOLVED,
            7,
            95,
            exc=exc,
            run=run,
            actor="ana",
            detail={"actor": "ana", "note": "card retried", "cause": "psp outage"},
        ),
    ]
