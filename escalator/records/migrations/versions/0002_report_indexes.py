"""Indexes the report and the metrics scrape filter on: detection time, open state.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_exceptions_detected_at", "exceptions", ["detected_at"])
    op.create_index("ix_exceptions_state", "exceptions", ["state"])


def downgrade() -> None:
    op.drop_index("ix_exceptions_state", table_name="exceptions")
    op.drop_index("ix_exceptions_detected_at", table_name="exceptions")
