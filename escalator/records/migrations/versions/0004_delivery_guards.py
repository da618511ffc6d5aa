"""The senders' duplicate guard gets its own table; notifications keep only results.

Before, one ``notifications`` row was both the guard (pending / sent) and the
result (sent / failed): a retryable failure recorded as ``failed`` read as a
final answer, and the retry never called the provider again (issue 11). The
guard fields move to ``delivery_guards``; ``notifications`` gains the attempt
count and the first and last attempt.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

GUARD_FIELDS = "idempotency_key, exception_id, channel, destination, state, provider_message_id, provider_channel, reply_code, thread_seq, error, created_at, updated_at"  # noqa: E501


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "delivery_guards",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(512), nullable=False, unique=True),
        sa.Column("exception_id", sa.String(512), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("provider_message_id", sa.String(200)),
        sa.Column("provider_channel", sa.String(200)),
        sa.Column("reply_code", sa.String(32)),
        sa.Column("thread_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text()),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_delivery_guards_exception_id", "delivery_guards", ["exception_id"])
    op.create_index("ix_delivery_guards_reply_code", "delivery_guards", ["reply_code"])
    # Keep every guard already written: a pending key still protects against a duplicate,
    # a reply code still maps an SMS answer back. A permanently failed one guards nothing.
    op.execute(
        f"INSERT INTO delivery_guards ({GUARD_FIELDS}) "
        "SELECT idempotency_key, exception_id, channel, target, status, provider_message_id, "
        "provider_channel, reply_code, thread_seq, error, created_at, updated_at "
        "FROM notifications WHERE status IN ('pending', 'sent')"
    )
    # Rows only the guard had written (the sender died before the result) are results too:
    # the provider may hold the message, so they read as still being retried.
    op.execute("UPDATE notifications SET status = 'retrying' WHERE status = 'pending'")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_reply_code")
        batch.drop_column("provider_channel")
        batch.drop_column("reply_code")
        batch.drop_column("thread_seq")
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(_ts("first_attempt_at"))
        batch.add_column(_ts("last_attempt_at"))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("last_attempt_at")
        batch.drop_column("first_attempt_at")
        batch.drop_column("attempts")
        batch.add_column(sa.Column("thread_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("reply_code", sa.String(32)))
        batch.add_column(sa.Column("provider_channel", sa.String(200)))
        batch.create_index("ix_notifications_reply_code", ["reply_code"])
    op.drop_index("ix_delivery_guards_reply_code", table_name="delivery_guards")
    op.drop_index("ix_delivery_guards_exception_id", table_name="delivery_guards")
    op.drop_table("delivery_guards")
