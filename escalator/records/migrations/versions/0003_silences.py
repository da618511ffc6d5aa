"""Silences and maintenance windows: what routing suppresses, until when, and why.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "silences",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("journey", sa.String(80), nullable=False),
        sa.Column("rule", sa.String(80)),
        sa.Column("labels", sa.JSON(), nullable=False),
        _ts("starts_at", nullable=False),
        _ts("ends_at"),
        sa.Column("until_resolved", sa.String(512)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        _ts("created_at", nullable=False),
        _ts("expired_at"),
        sa.Column("expired_by", sa.String(120)),
    )
    op.create_index("ix_silences_journey", "silences", ["journey"])


def downgrade() -> None:
    op.drop_index("ix_silences_journey", table_name="silences")
    op.drop_table("silences")
