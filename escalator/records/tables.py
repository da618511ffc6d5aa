"""The records schema: exceptions (a projection of the timeline), notifications, timeline.

Every timestamp is stored in UTC. SQLite drops the offset, so readers attach
UTC again (``escalator.records.store`` does this); PostgreSQL keeps ``timestamptz``.
The schema itself is created only by the alembic migrations in
``escalator/records/migrations``; these classes describe it for queries and must be kept
in step with the latest revision (``tests/records/test_migrations.py`` checks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "DeliveryGuardRecord",
    "ExceptionRecord",
    "NotificationRecord",
    "OnCallChangeRecord",
    "RuleScorecardRecord",
    "SilenceRecord",
    "TimelineRecord",
    "UnmatchedAlertRecord",
    "WatchStateRecord",
]


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=nullable)


class ExceptionRecord(SQLModel, table=True):
    """One run of one exception workflow; a reopened exception is a new run."""

    __tablename__ = "exceptions"

    exception_id: str = Field(primary_key=True, max_length=512)  # the workflow id
    run_id: str = Field(primary_key=True, max_length=128)
    journey: str | None = Field(default=None, max_length=80)
    rule: str | None = Field(default=None, max_length=80)
    kind: str | None = Field(default=None, max_length=32)
    subject: str | None = Field(default=None, max_length=512)
    severity: str | None = Field(default=None, max_length=16)
    policy_version: str | None = Field(default=None, max_length=64)
    owner_role: str | None = Field(default=None, max_length=80)
    state: str = Field(default="open", max_length=16, index=True)
    state_at: datetime | None = _ts()
    onset: datetime | None = _ts()
    detected_at: datetime | None = Field(
        default=None, sa_type=sa.DateTime(timezone=True), index=True
    )
    first_notified_at: datetime | None = _ts()
    acknowledged_by: str | None = Field(default=None, max_length=120)
    acknowledged_at: datetime | None = _ts()
    resolved_by: str | None = Field(default=None, max_length=120)
    resolved_at: datetime | None = _ts()
    resolution_note: str | None = None
    resolution_cause: str | None = Field(default=None, max_length=200)
    resolution_real: bool | None = None  # False: a false alarm; None: not said
    highest_level: int = 0
    occurrences: int = 1
    reopened_from: str | None = Field(default=None, max_length=128)
    exhausted: bool = False
    restore_breached: bool = False
    routing_decision: str | None = Field(default=None, max_length=16)
    routing_inputs: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    payload: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class TimelineRecord(SQLModel, table=True):
    """Every step of every exception: itself an event log (case = exception_id)."""

    __tablename__ = "timeline_steps"

    exception_id: str = Field(primary_key=True, max_length=512)
    run_id: str = Field(primary_key=True, max_length=128)
    seq: int = Field(primary_key=True)
    kind: str = Field(max_length=32)
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    actor: str | None = Field(default=None, max_length=120)
    level: int | None = None
    role: str | None = Field(default=None, max_length=80)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class NotificationRecord(SQLModel, table=True):
    """The result of one message to one target: what the provider did with it, and when.

    Only results live here; the senders' guard against duplicates is
    ``DeliveryGuardRecord`` (a retryable failure here must never read as "done").
    ``status``: ``sent`` (the provider accepted), ``retrying`` (the last attempt
    failed in a way a retry may fix), ``failed`` (permanently refused, or the
    delivery deadline passed).
    """

    __tablename__ = "notifications"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=512, unique=True)
    exception_id: str = Field(max_length=512, index=True)
    run_id: str | None = Field(default=None, max_length=128)
    level: int | None = None
    channel: str = Field(max_length=16)
    target: str = Field(max_length=200)
    provider_message_id: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=32)
    error: str | None = None
    attempts: int = 0
    first_attempt_at: datetime | None = _ts()
    last_attempt_at: datetime | None = _ts()
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class DeliveryGuardRecord(SQLModel, table=True):
    """The senders' guard: a key is written ``pending`` before the provider is called and
    ``sent`` with the provider's id once it accepted (``escalator.activities.delivery_ledger``)."""

    __tablename__ = "delivery_guards"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=512, unique=True)
    exception_id: str = Field(max_length=512, index=True)
    channel: str = Field(max_length=16)
    destination: str = Field(max_length=200)
    state: str = Field(max_length=16)  # pending | sent
    provider_message_id: str | None = Field(default=None, max_length=200)
    provider_channel: str | None = Field(default=None, max_length=200)  # Slack conversation id
    reply_code: str | None = Field(default=None, max_length=32, index=True)  # SMS reply code
    thread_seq: int = 0  # Slack: last timeline step already posted in the thread
    error: str | None = None
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class SilenceRecord(SQLModel, table=True):
    """A silence or maintenance window (see ``escalator.records.silences``)."""

    __tablename__ = "silences"

    id: str = Field(primary_key=True, max_length=64)
    journey: str = Field(max_length=80, index=True)
    rule: str | None = Field(default=None, max_length=80)
    labels: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    starts_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    ends_at: datetime | None = _ts()
    until_resolved: str | None = Field(default=None, max_length=512)
    reason: str
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expired_at: datetime | None = _ts()
    expired_by: str | None = Field(default=None, max_length=120)


class RuleScorecardRecord(SQLModel, table=True):
    """One rule's scorecard as ``escalator scorecard`` computed it (its JSON figures)."""

    __tablename__ = "rule_scorecards"

    id: int | None = Field(default=None, primary_key=True)
    journey: str = Field(max_length=80)
    rule: str = Field(max_length=80, index=True)
    scored_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    log: str
    policy_version: str | None = Field(default=None, max_length=64)
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class OnCallChangeRecord(SQLModel, table=True):
    """An on-call override or a vacation (see ``escalator.records.oncall``)."""

    __tablename__ = "oncall_changes"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # "override" or "away"
    role: str | None = Field(default=None, max_length=80, index=True)  # none for "away"
    member: str = Field(max_length=80, index=True)
    covers: str | None = Field(default=None, max_length=80)
    starts_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    reason: str = ""
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    removed_at: datetime | None = _ts()
    removed_by: str | None = Field(default=None, max_length=120)


class UnmatchedAlertRecord(SQLModel, table=True):
    """An alert that mapped to no rule (see ``escalator.records.unmatched_alerts``): one row
    per integration and fingerprint; a repeat counts and moves ``last_seen``."""

    __tablename__ = "unmatched_alerts"

    integration: str = Field(primary_key=True, max_length=80)
    fingerprint: str = Field(primary_key=True, max_length=128)
    source: str = Field(max_length=16)  # alertmanager, grafana or generic
    status: str = Field(max_length=16)  # firing or resolved, as last received
    labels: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    annotations: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    reason: str  # what did not match, as the 422 answer said it (the latest)
    count: int = 1
    first_seen: datetime = Field(sa_type=sa.DateTime(timezone=True))
    last_seen: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class WatchStateRecord(SQLModel, table=True):
    """What detection on Temporal remembers of one journey's event table between runs
    (``escalator.records.watch_states``): the watermark, the open dedupe keys, the raised
    occurrences, and the lease of the run that polls now."""

    __tablename__ = "watch_states"

    watch_key: str = Field(primary_key=True, max_length=300)  # "journey:table"
    journey: str = Field(max_length=80)
    table_name: str = Field(max_length=200)
    started_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    watermark_ts: str | None = None  # the last row's timestamp as the source returned it
    watermark_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    open_keys: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    raised: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = _ts()
    updated_at: datetime | None = _ts()
