"""Initial records schema: exceptions, timeline steps, notifications.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "exceptions",
        sa.Column("exception_id", sa.String(512), primary_key=True),
        sa.Column("run_id", sa.String(128), primary_key=True),
        sa.Column("journey", sa.String(80)),
        sa.Column("rule", sa.String(80)),
        sa.Column("kind", sa.String(32)),
        sa.Column("subject", sa.String(512)),
        sa.Column("severity", sa.String(16)),
        sa.Column("policy_version", sa.String(64)),
        sa.Column("owner_role", sa.String(80)),
        sa.Column("state", sa.String(16), nullable=False, server_default="open"),
        _ts("state_at"),
        _ts("onset"),
        _ts("detected_at"),
        _ts("first_notified_at"),
        sa.Column("acknowledged_by", sa.String(120)),
        _ts("acknowledged_at"),
        sa.Column("resolved_by", sa.String(120)),
        _ts("resolved_at"),
        sa.Column("resolution_note", sa.Text()),
        sa.Column("resolution_cause", sa.String(200)),
        sa.Column("highest_level", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("occurrences", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("reopened_from", sa.String(128)),
        sa.Column("exhausted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("restore_breached", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("routing_decision", sa.String(16)),
        sa.Column("routing_inputs", sa.JSON()),
        sa.Column("payload", sa.JSON()),
    )
    op.create_table(
        "timeline_steps",
        sa.Column("exception_id", sa.String(512), primary_key=True),
        sa.Column("run_id", sa.String(128), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        _ts("at", nullable=False),
        sa.Column("actor", sa.String(120)),
        sa.Column("level", sa.Integer()),
        sa.Column("role", sa.String(80)),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(512), nullable=False, unique=True),
        sa.Column("exception_id", sa.String(512), nullable=False),
        sa.Column("run_id", sa.String(128)),
        sa.Column("level", sa.Integer()),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("provider_message_id", sa.String(200)),
        sa.Column("provider_channel", sa.String(200)),
        sa.Column("reply_code", sa.String(32)),
        sa.Column("thread_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error", sa.Text()),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_notifications_exception_id", "notifications", ["exception_id"])
    op.create_index("ix_notifications_reply_code", "notifications", ["reply_code"])


def downgrade() -> None:
    op.drop_index("ix_notifications_reply_code", table_name="notifications")
    op.drop_index("ix_notifications_exception_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("timeline_steps")
    op.drop_table("exceptions")
