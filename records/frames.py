"""Load records as polars frames for analytics: columns, not row objects.

One SQL query per frame; timestamps leave the database as integers (PostgreSQL:
microseconds since the epoch) or text (SQLite) and are parsed column-wise by
polars, so a million rows load without building a million Python objects each.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from analytics.schema import EXCEPTION_SCHEMA, TIME_COLUMNS
from records.projection import as_utc

__all__ = ["load_exceptions"]


def _select_list(dialect: str) -> str:
    parts = []
    for name in EXCEPTION_SCHEMA:
        if name in TIME_COLUMNS and dialect == "postgresql":
            parts.append(f"(extract(epoch from {name}) * 1000000)::bigint AS {name}")
        else:
            parts.append(name)
    return ", ".join(parts)


def load_exceptions(engine: sa.Engine, *, since: datetime | None = None) -> pl.DataFrame:
    """Every exception run detected at or after ``since`` (all of them without it)."""
    dialect = engine.dialect.name
    sql = f"SELECT {_select_list(dialect)} FROM exceptions"
    since_utc = as_utc(since)
    if dialect == "postgresql":
        return _load_postgres(engine, sql, since_utc)
    params: tuple[object, ...] = ()
    if since_utc is not None:
        sql += " WHERE detected_at >= ?"
        params = (since_utc.strftime("%Y-%m-%d %H:%M:%S.%f"),)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(sql, params).fetchall()
    text_schema = {
        n: (pl.String() if n in TIME_COLUMNS else t) for n, t in EXCEPTION_SCHEMA.items()
    }
    frame = pl.DataFrame(rows, schema=text_schema, orient="row")
    return frame.with_columns(
        pl.col(n)
        .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
        .dt.replace_time_zone("UTC")
        for n in TIME_COLUMNS
    )


def _load_postgres(engine: sa.Engine, sql: str, since: datetime | None) -> pl.DataFrame:
    if since is not None:
        sql += f" WHERE detected_at >= '{since.isoformat()}'::timestamptz"
    raw = engine.raw_connection()
    try:
        buffer = io.BytesIO()
        # COPY streams the columns as CSV: far cheaper than a million Python rows.
        psycopg_conn: Any = raw.driver_connection
        with (
            psycopg_conn.cursor() as cur,
            cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy,
        ):
            for chunk in copy:
                buffer.write(chunk)
    finally:
        raw.close()
    buffer.seek(0)
    int_schema = {n: (pl.Int64() if n in TIME_COLUMNS else t) for n, t in EXCEPTION_SCHEMA.items()}
    frame = pl.read_csv(buffer, schema=int_schema)
    return frame.with_columns(
        pl.from_epoch(pl.col(n), time_unit="us").dt.replace_time_zone("UTC") for n in TIME_COLUMNS
    )
