"""The records side of the fault suite: a PostgreSQL database per run, cut and read from outside.

Each run creates a database of its own on the shared server (so engineers and
CI jobs never collide, and `pg_terminate_backend` over ``datname`` reaches the
worker's connections only) and drops it at the end. The suite reads the
records with plain SQL through a pool-less engine: a connection the fault cut
is never handed out again to the reader.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

__all__ = ["PG_SERVER", "RecordsDb", "pg_problem"]

# The server and the database the run's own database is created from (trust auth here).
PG_SERVER = os.environ.get(
    "ESCALATOR_FAULTS_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def pg_problem() -> str | None:
    try:
        engine = sa.create_engine(PG_SERVER, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means: not reachable, say why
        where = PG_SERVER.rpartition("@")[2]
        return f"PostgreSQL at {where} unreachable: {exc.__class__.__name__}: {exc}"


@dataclass
class RecordsDb:
    name: str

    @classmethod
    def create(cls) -> RecordsDb:
        name = f"esc_faults_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return cls(name)

    @property
    def url(self) -> str:
        return PG_SERVER.rsplit("/", 1)[0] + f"/{self.name}"

    def drop(self) -> None:
        admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()

    def terminate_connections(self) -> int:
        """Cut every connection to this run's database (the worker's), as a failover does."""
        admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            cut = conn.execute(
                sa.text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": self.name},
            ).scalar_one()
        admin.dispose()
        return int(cut)

    def _rows(self, query: str, **params: object) -> list[sa.Row[*tuple[object, ...]]]:
        engine = sa.create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.text(query), params))
        finally:
            engine.dispose()

    def tables_exist(self) -> bool:
        found = self._rows("SELECT to_regclass('public.notifications') IS NOT NULL AS ok")
        return bool(found and found[0][0])

    def snapshot(self, exception_ids: list[str]) -> Snapshot:
        """Exceptions, notification rows and timeline kinds of ``exception_ids``."""
        ids = list(exception_ids)
        exceptions = {
            str(r[0]): str(r[1])
            for r in self._rows(
                "SELECT exception_id, state FROM exceptions WHERE exception_id = ANY(:ids)", ids=ids
            )
        }
        notes: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for r in self._rows(
            "SELECT exception_id, channel, target, status FROM notifications "
            "WHERE exception_id = ANY(:ids)",
            ids=ids,
        ):
            notes[(str(r[0]), str(r[1]), str(r[2]))].append(str(r[3]))
        timeline: dict[str, list[str]] = defaultdict(list)
        for r in self._rows(
            "SELECT exception_id, kind FROM timeline_steps WHERE exception_id = ANY(:ids) "
            "ORDER BY exception_id, run_id, seq",
            ids=ids,
        ):
            timeline[str(r[0])].append(str(r[1]))
        return Snapshot(exceptions, dict(notes), dict(timeline))


@dataclass
class Snapshot:
    exceptions: dict[str, str]  # exception id -> state
    notifications: dict[tuple[str, str, str], list[str]]  # (id, channel, target) -> statuses
    timeline: dict[str, list[str]]  # exception id -> step kinds in order

    @property
    def failed(self) -> int:
        return sum(s.count("failed") for s in self.notifications.values())

    def problems(
        self, pages: dict[str, list[tuple[str, str]]], steps: list[str] | None = None
    ) -> list[str]:
        """What is inconsistent, given each exception's expected (channel, target) pages
        and, if given, the step kinds its timeline must start with."""
        out = []
        for exception_id, expected in pages.items():
            if exception_id not in self.exceptions:
                out.append(f"{exception_id}: no exceptions row")
            kinds = self.timeline.get(exception_id, [])
            if not kinds or kinds[0] != "detected":
                out.append(f"{exception_id}: timeline starts {kinds[:2]}, not with detected")
            elif steps and kinds[: len(steps)] != steps:
                out.append(f"{exception_id}: timeline {kinds}, expected to start {steps}")
            for channel, target in expected:
                statuses = self.notifications.get((exception_id, channel, target), [])
                if statuses != ["sent"]:
                    out.append(f"{exception_id} {channel} {target}: notification rows {statuses}")
        return out
