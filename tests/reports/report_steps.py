"""The hand-checked analytics fixture, replayed as timeline steps into a real store."""

from __future__ import annotations

from analytics_fixtures import ROWS

from escalator.records.store import Store
from escalator.workflows.contracts import StepKind, TimelineStep


def record_fixture(store: Store) -> None:
    for (
        exc,
        run,
        journey,
        rule,
        role,
        severity,
        onset,
        detected,
        ack,
        resolved,
        level,
        reopened,
    ) in ROWS:
        seq = iter(range(1, 100))

        def add(kind: StepKind, at, exc=exc, run=run, seq=seq, **fields) -> None:
            store.record_step_sync(
                TimelineStep(
                    exception_id=exc, run_id=run, seq=next(seq), kind=kind, at=at, **fields
                )
            )

        add(
            StepKind.DETECTED,
            detected,
            detail={
                "journey": journey, "rule": rule, "kind": "latency", "subject": exc,
                "severity": severity, "policy_version": "v1", "onset": onset.isoformat(),
                "detected_at": detected.isoformat(), "owner_role": role,
                "reopened_from": reopened, "occurrences": 1, "payload": {},
            },
        )  # fmt: skip
        add(StepKind.NOTIFIED, detected, level=1, role=role, detail={
            "channel": "slack", "target": "#" + role, "idempotency_key": f"{exc}/{run}/n1",
            "status": "sent"})  # fmt: skip
        for lvl in range(2, level + 1):
            add(StepKind.ESCALATED, detected, level=lvl, role="lead")
        if ack is not None:
            add(StepKind.ACKNOWLEDGED, ack, actor="ana")
        if resolved is not None:
            add(StepKind.RESOLVED, resolved, actor="ana", detail={"note": "fixed", "cause": "x"})
