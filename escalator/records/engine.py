"""Engines for the records database, and the migrations that shape it.

Opening a database always runs ``alembic upgrade head`` first: an existing
database is upgraded in place, never recreated, so no record is lost.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

__all__ = [
    "MIGRATIONS_DIR",
    "current_revision",
    "head_revision",
    "make_engine",
    "normalize_url",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept the plain ``postgresql://`` spelling and use psycopg 3 for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    url = normalize_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Several workers write one file: wait for the lock instead of failing.
        engine = sa.create_engine(url, connect_args={"timeout": 60}, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _config(connection: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest), keeping every row.

    Safe when several processes open a fresh database at once (a worker and a
    receiver starting together): PostgreSQL serialises them with an advisory
    lock; on SQLite the loser of the race retries once the winner has committed.
    """
    attempts = 6
    for attempt in range(attempts):
        try:
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
                    )
                command.upgrade(_config(connection), revision)
            return
        except sa.exc.OperationalError:
            if revision == "head" and _migrated_meanwhile(engine):
                return  # another process migrated it meanwhile
            if attempt == attempts - 1:
                raise
            # SQLite answers "database is locked" at once when a snapshot went stale
            # (no busy wait): give the other process time to commit.
            time.sleep(0.2 * (attempt + 1))


def _migrated_meanwhile(engine: sa.Engine) -> bool:
    try:
        return current_revision(engine) == head_revision()
    except sa.exc.OperationalError:
        return False


LOCK_KEY = 0x65736361  # "esca": one advisory lock id for escalator's migrations


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()
