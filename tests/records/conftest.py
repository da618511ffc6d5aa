"""Every store test runs on a SQLite file and on the real PostgreSQL (see records_db)."""

from records_db import db_url, pg_problem, pg_url, sqlite_url, store

__all__ = ["db_url", "pg_problem", "pg_url", "sqlite_url", "store"]
