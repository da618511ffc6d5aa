"""The exceptions row as a projection of the timeline steps.

Each step becomes UPDATE statements whose effect does not depend on the order
the steps arrive in (earliest acknowledgement wins, highest level is a maximum,
the state follows the latest step by time), so a retried or late activity
cannot corrupt the row. The caller applies a step only when its timeline row
was new, which makes the whole projection idempotent on the natural key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from escalator.records.tables import ExceptionRecord
from escalator.workflows.contracts import StepKind, TimelineStep

__all__ = ["STATE_AFTER", "apply_step", "as_utc", "dialect_insert"]

T = ExceptionRecord.__table__  # type: ignore[attr-defined]

# The state an exception is in after a step of this kind (others leave it as it is).
STATE_AFTER: dict[StepKind, str] = {
    StepKind.DETECTED: "open",
    StepKind.ACKNOWLEDGED: "acknowledged",
    StepKind.ACK_REVERTED: "open",
    StepKind.SNOOZED: "snoozed",
    StepKind.RESOLVED: "resolved",
    StepKind.REOPENED: "open",
}
FAILED_STATUSES = {"failed", "error"}


def as_utc(value: Any) -> datetime | None:
    """A datetime from a step detail (ISO text after JSON, or a datetime), in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime or ISO text, got {value!r}")
    if value.tzinfo is None:  # naive values are UTC by the records convention
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _greatest(col: Any, value: Any) -> Any:
    return sa.case((col.is_(None), value), (col < value, value), else_=col)


def _least(col: Any, value: Any) -> Any:
    return sa.case((col.is_(None), value), (col > value, value), else_=col)


def _values(step: TimelineStep, detail: dict[str, Any], at: datetime) -> dict[str, Any]:
    c = T.c
    kind = step.kind
    if kind is StepKind.DETECTED:
        values: dict[str, Any] = {
            name: detail.get(name)
            for name in ("journey", "rule", "kind", "subject", "severity", "policy_version")
            if detail.get(name) is not None
        }
        values["owner_role"] = detail.get("owner_role") or step.role
        values["onset"] = as_utc(detail.get("onset"))
        values["detected_at"] = as_utc(detail.get("detected_at")) or at
        values["reopened_from"] = detail.get("reopened_from")
        values["payload"] = detail.get("payload")
        values["occurrences"] = _greatest(c.occurrences, int(detail.get("occurrences") or 1))
        return values
    if kind is StepKind.OCCURRED_AGAIN:
        count = detail.get("occurrences")
        values = {
            "occurrences": c.occurrences + 1
            if count is None
            else _greatest(c.occurrences, int(count))
        }
        if detail.get("payload") is not None:
            values["payload"] = detail["payload"]
        return values
    if kind is StepKind.ROUTED:
        return {"routing_decision": detail.get("decision"), "routing_inputs": detail}
    if kind is StepKind.NOTIFIED:
        if str(detail.get("status", "sent")).lower() in FAILED_STATUSES:
            return {}
        # Per-target delivery records the step when every target has answered; the
        # page reached someone when the first of them got it.
        first = detail.get("first_delivered_at")
        reached = as_utc(datetime.fromisoformat(first)) if isinstance(first, str) else at
        values = {"first_notified_at": _least(c.first_notified_at, reached)}
        if step.level is not None:
            values["highest_level"] = _greatest(c.highest_level, step.level)
        return values
    if kind is StepKind.ESCALATED:
        level = step.level if step.level is not None else detail.get("level")
        return {"highest_level": _greatest(c.highest_level, int(level))} if level else {}
    if kind is StepKind.EXHAUSTED:
        return {"exhausted": True}
    if kind is StepKind.RESTORE_BREACHED:
        return {"restore_breached": True}
    if kind is StepKind.ACKNOWLEDGED:
        earlier = sa.or_(c.acknowledged_at.is_(None), c.acknowledged_at > at)
        actor = step.actor or detail.get("actor")
        return {
            "acknowledged_by": sa.case((earlier, actor), else_=c.acknowledged_by),
            "acknowledged_at": _least(c.acknowledged_at, at),
        }
    if kind is StepKind.ACK_REVERTED:
        reverted = c.acknowledged_at <= at
        return {
            "acknowledged_by": sa.case((reverted, None), else_=c.acknowledged_by),
            "acknowledged_at": sa.case((reverted, None), else_=c.acknowledged_at),
        }
    if kind is StepKind.RESOLVED:
        later = sa.or_(c.resolved_at.is_(None), c.resolved_at < at)
        fields = {
            "resolved_by": step.actor or detail.get("actor"),
            "resolution_note": detail.get("note"),
            "resolution_cause": detail.get("cause"),
            "resolution_real": detail.get("real"),  # absent: not said
        }
        values = {name: sa.case((later, v), else_=c[name]) for name, v in fields.items()}
        values["resolved_at"] = _greatest(c.resolved_at, at)
        return values
    return {}


def apply_step(conn: sa.Connection, step: TimelineStep, detail: dict[str, Any]) -> None:
    """Fold one (new) step into its exception's row, creating the row if needed."""
    at = as_utc(step.at)
    assert at is not None
    key = sa.and_(T.c.exception_id == step.exception_id, T.c.run_id == step.run_id)
    _ensure_row(conn, step)
    values = _values(step, detail, at)
    if values:
        conn.execute(sa.update(T).where(key).values(**values))
    state = STATE_AFTER.get(step.kind)
    if state is not None:
        latest = sa.or_(T.c.state_at.is_(None), T.c.state_at <= at)
        conn.execute(sa.update(T).where(key, latest).values(state=state, state_at=at))


def _ensure_row(conn: sa.Connection, step: TimelineStep) -> None:
    insert = _insert_for(conn)(T).values(exception_id=step.exception_id, run_id=step.run_id)
    conn.execute(insert.on_conflict_do_nothing(index_elements=["exception_id", "run_id"]))


def _insert_for(conn: sa.Connection) -> Any:
    return dialect_insert(conn.dialect.name)


def dialect_insert(dialect: str) -> Any:
    """The INSERT construct with ON CONFLICT support for this dialect."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
