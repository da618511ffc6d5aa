"""Load records as polars frames for analytics: columns, not row objects.

One SQL query per frame; timestamps leave the database as integers (PostgreSQL:
microseconds since the epoch) or text (SQLite) and are parsed column-wise by
polars, so a million rows load without building a million Python objects each.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, cast

import polars as pl
import sqlalchemy as sa

from escalator.analytics.schema import EXCEPTION_SCHEMA, LOG_SCHEMA, TIME_COLUMNS, empty_exceptions
from escalator.records.projection import as_utc
from escalator.records.tables import TimelineRecord

__all__ = ["load_exceptions", "load_timeline_log"]

STEPS = TimelineRecord.__table__  # type: ignore[attr-defined]


def _select_list(dialect: str) -> str:
    parts = []
    for name in EXCEPTION_SCHEMA:
        if name in TIME_COLUMNS and dialect == "postgresql":
            parts.append(f"(extract(epoch from {name}) * 1000000)::bigint AS {name}")
        elif EXCEPTION_SCHEMA[name] == pl.Boolean() and dialect == "postgresql":
            parts.append(f"{name}::int AS {name}")  # COPY writes booleans as t/f
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
    where, params = "", cast(tuple[Any, ...], ())
    if since_utc is not None:
        where, params = " AND detected_at >= ?", (since_utc.strftime(SQLITE_TS),)
    with engine.connect() as conn:
        (low, high) = conn.exec_driver_sql("SELECT MIN(rowid), MAX(rowid) FROM exceptions").one()
    if low is None:
        return empty_exceptions()
    # sqlite3 releases the GIL while SQLite works, so chunks read on separate
    # connections run on separate cores (WAL lets readers share the file).
    size = min(CHUNK_ROWS, max(50_000, -(-(high - low + 1) // READERS)))
    ranges = [(start, start + size, *params) for start in range(low - 1, high, size)]

    def read(bounds: tuple[Any, ...]) -> pl.DataFrame:
        with engine.connect() as conn:
            return _sqlite_chunk(conn, f"rowid > ? AND rowid <= ?{where}", bounds)

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        parts = list(pool.map(read, ranges))
    return pl.concat(parts)


READERS = 2  # this machine class has 2 cores; more readers only add memory
SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite
CHUNK_ROWS = 250_000  # bounds memory: one concatenated string per column and reader
UNIT_SEP = "\x1f"


def _sqlite_chunk(conn: sa.Connection, where: str, params: tuple[Any, ...]) -> pl.DataFrame:
    """One chunk of rows as one concatenated string per column, split by polars.

    A Python object per value (fetchall) costs more than the query itself at a
    million rows; ``group_concat`` over one scan keeps every column in the same
    row order, and the split happens in Rust.
    """
    names = list(EXCEPTION_SCHEMA)
    sep = "char(31)"
    exprs = ", ".join(f"group_concat(coalesce({n}, ''), {sep})" for n in names)
    texts = list(
        conn.exec_driver_sql(
            f"SELECT COUNT(*), {exprs} FROM exceptions WHERE {where}", params
        ).one()
    )
    count = texts.pop(0)
    if count == 0:
        return empty_exceptions()
    columns = {}
    for i, name in enumerate(names):
        values = pl.Series(name, [texts[i]]).str.split(UNIT_SEP)
        texts[i] = None  # let each column's big string go as soon as it is split
        if values.list.len()[0] != count:
            return _sqlite_rows(conn, where, params)  # a value held the separator: exact path
        columns[name] = values.explode()
    # One select over every column: polars parses the timestamps in parallel.
    return pl.DataFrame(columns).select(
        _typed(pl.col(n).replace("", None), t).alias(n) for n, t in EXCEPTION_SCHEMA.items()
    )


def _typed(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Datetime("us", "UTC"):
        parsed = col.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", cache=False)
        return parsed.dt.replace_time_zone("UTC")
    if dtype == pl.Boolean():  # SQLite keeps booleans as 0 / 1
        return col.cast(pl.Int8).cast(pl.Boolean)
    return col.cast(dtype)


def _sqlite_rows(conn: sa.Connection, where: str, params: tuple[Any, ...]) -> pl.DataFrame:
    sql = f"SELECT {', '.join(EXCEPTION_SCHEMA)} FROM exceptions WHERE {where}"
    rows = conn.exec_driver_sql(sql, params).fetchall()
    text_schema = {
        n: (pl.String() if n in TIME_COLUMNS else pl.Int8() if t == pl.Boolean() else t)
        for n, t in EXCEPTION_SCHEMA.items()
    }
    frame = pl.DataFrame(rows, schema=text_schema, orient="row").with_columns(
        pl.col(n).cast(pl.Boolean) for n, t in EXCEPTION_SCHEMA.items() if t == pl.Boolean()
    )
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
    int_schema = {
        n: (pl.Int64() if n in TIME_COLUMNS or t == pl.Boolean() else t)
        for n, t in EXCEPTION_SCHEMA.items()
    }
    frame = pl.read_csv(buffer, schema=int_schema).with_columns(
        pl.col(n).cast(pl.Boolean) for n, t in EXCEPTION_SCHEMA.items() if t == pl.Boolean()
    )
    return frame.with_columns(
        pl.from_epoch(pl.col(n), time_unit="us").dt.replace_time_zone("UTC") for n in TIME_COLUMNS
    )


def load_timeline_log(engine: sa.Engine, *, since: datetime | None = None) -> pl.DataFrame:
    """The timeline as an event log (case = exception run, event = step kind), so the
    same analytics (lead time, SLIs, the detectors) can study escalator's own process.

    Columns: ``case_id`` (``exception_id/run_id``), ``event_name``, ``timestamp``,
    ``actor``, plus ``level`` and ``role``.
    """
    query = sa.select(
        STEPS.c.exception_id, STEPS.c.run_id, STEPS.c.kind, STEPS.c.at, STEPS.c.actor,
        STEPS.c.level, STEPS.c.role,
    )  # fmt: skip
    since_utc = as_utc(since)
    if since_utc is not None:
        query = query.where(STEPS.c.at >= since_utc)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(STEPS.c.at, STEPS.c.seq)).all()
    return pl.DataFrame(
        {
            "case_id": [f"{r[0]}/{r[1]}" for r in rows],
            "event_name": [r[2] for r in rows],
            "timestamp": [as_utc(r[3]) for r in rows],
            "actor": [r[4] for r in rows],
            "level": [r[5] for r in rows],
            "role": [r[6] for r in rows],
        },
        schema={
            **LOG_SCHEMA,
            "level": pl.Int64(),
            "role": pl.String(),
        },
    )
