"""The event table the detection benchmarks write to and detect from (bench_detect.py's
`--watch`, bench_detect_schedule.py): one row per event, with the address the
completeness rule requires."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["events_table"]


def events_table(url: str) -> tuple[sa.Engine, sa.Table]:
    """A new ``events`` table (id, case_id, event, ts, address) in the database at ``url``."""
    engine = sa.create_engine(url)
    table = sa.Table(
        "events",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Text),
        sa.Column("event", sa.Text),
        sa.Column("ts", sa.Text),
        sa.Column("address", sa.Text),
    )
    table.create(engine)
    return engine, table
