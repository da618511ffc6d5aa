"""Alerts that mapped to no rule: recorded once per integration and fingerprint, repeats
counted, so the alerting admin sees what the receiver answered 422 (never dropped silently).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "unmatched_alerts",
        sa.Column("integration", sa.String(80), primary_key=True),
        sa.Column("fingerprint", sa.String(128), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _ts("first_seen"),
        _ts("last_seen"),
    )
    op.create_index("ix_unmatched_alerts_last_seen", "unmatched_alerts", ["last_seen"])


def downgrade() -> None:
    op.drop_index("ix_unmatched_alerts_last_seen", table_name="unmatched_alerts")
    op.drop_table("unmatched_alerts")
