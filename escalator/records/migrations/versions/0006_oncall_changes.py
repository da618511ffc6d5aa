"""On-call overrides and vacations: who covers whom, when, made by whom.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "oncall_changes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(80)),
        sa.Column("member", sa.String(80), nullable=False),
        sa.Column("covers", sa.String(80)),
        _ts("starts_at", nullable=False),
        _ts("ends_at", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        _ts("created_at", nullable=False),
        _ts("removed_at"),
        sa.Column("removed_by", sa.String(120)),
    )
    op.create_index("ix_oncall_changes_role", "oncall_changes", ["role"])
    op.create_index("ix_oncall_changes_member", "oncall_changes", ["member"])


def downgrade() -> None:
    op.drop_index("ix_oncall_changes_member", table_name="oncall_changes")
    op.drop_index("ix_oncall_changes_role", table_name="oncall_changes")
    op.drop_table("oncall_changes")
