"""Detection on Temporal: each watched journey's watch state and the lease of its run.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "watch_states",
        sa.Column("watch_key", sa.String(300), primary_key=True),
        sa.Column("journey", sa.String(80), nullable=False),
        sa.Column("table_name", sa.String(200), nullable=False),
        _ts("started_at", nullable=False),
        sa.Column("watermark_ts", sa.Text()),
        sa.Column("watermark_id", sa.BigInteger()),
        sa.Column("open_keys", sa.JSON(), nullable=False),
        sa.Column("raised", sa.JSON(), nullable=False),
        sa.Column("lease_owner", sa.String(200)),
        _ts("lease_until"),
        _ts("updated_at"),
    )


def downgrade() -> None:
    op.drop_table("watch_states")
