"""Report tests reuse the analytics fixtures and the database fixtures of the store tests."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for helper_dir in (HERE.parent / "records", HERE.parent / "analytics"):
    if str(helper_dir) not in sys.path:
        sys.path.insert(0, str(helper_dir))

from records_db import db_url, pg_problem, pg_url, sqlite_url, store  # noqa: E402

__all__ = ["db_url", "pg_problem", "pg_url", "sqlite_url", "store"]
