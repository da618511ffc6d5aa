"""Database fixtures (shared with tests/reports): every store test runs on a SQLite file and on the real PostgreSQL.

PostgreSQL tests get a schema of their own (unique per session and test) and
drop it afterwards, so engineers and CI runs sharing the server never clash.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from escalator.records.store import Store

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SESSION = uuid.uuid4().hex[:8]


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_SERVER, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means: not reachable, say why
        return f"PostgreSQL at 127.0.0.1:5432 unreachable: {exc.__class__.__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_problem() -> str | None:
    return _pg_reachable()


@pytest.fixture
def pg_url(pg_problem: str | None) -> Iterator[str]:
    if pg_problem:
        pytest.skip(pg_problem)
    schema = f"esc_rec_{SESSION}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_SERVER)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'records.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.close()
