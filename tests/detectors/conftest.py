"""Detection on Temporal keeps its watch state in the records: the store tests' database
fixtures (a SQLite file and the real PostgreSQL)."""

import sys
from pathlib import Path

RECORDS = Path(__file__).resolve().parent.parent / "records"
if str(RECORDS) not in sys.path:
    sys.path.insert(0, str(RECORDS))

from records_db import db_url, pg_problem, pg_url, sqlite_url  # noqa: E402

__all__ = ["db_url", "pg_problem", "pg_url", "sqlite_url"]
