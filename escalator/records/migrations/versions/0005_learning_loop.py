"""The learning loop: whether a resolved exception was real, and each rule's scorecards.

``exceptions.resolution_real``: true (confirmed), false (a false alarm) or null (not
said, and every resolution recorded before this revision). ``rule_scorecards``: one row
per rule each time ``escalator scorecard`` scored it, so ``policy explain``, the report
and ``review`` show the latest evidence without reading the log again.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exceptions") as batch:
        batch.add_column(sa.Column("resolution_real", sa.Boolean()))
    op.create_table(
        "rule_scorecards",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("journey", sa.String(80), nullable=False),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.String(64)),
        sa.Column("figures", sa.JSON(), nullable=False),
    )
    op.create_index("ix_rule_scorecards_rule", "rule_scorecards", ["rule"])


def downgrade() -> None:
    op.drop_index("ix_rule_scorecards_rule", table_name="rule_scorecards")
    op.drop_table("rule_scorecards")
    with op.batch_alter_table("exceptions") as batch:
        batch.drop_column("resolution_real")
