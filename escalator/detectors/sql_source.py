"""An event table in PostgreSQL or SQLite, read incrementally by a watermark.

The watermark is (timestamp, id): each read returns rows strictly after it in that
order, so a poll never re-reads a row and never skips one written with the same
timestamp as the last row seen (the id breaks the tie). Rows must be appended with
non-decreasing timestamps for nothing to be missed; a row written later with an
older timestamp than the watermark is not seen (store UTC ISO-8601 text in SQLite,
``timestamptz`` in PostgreSQL, so the database orders them chronologically).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from escalator.detectors.events import LINE

__all__ = ["SqlSource", "Watermark"]


@dataclass(frozen=True)
class Watermark:
    ts: str  # ISO text of the last row's timestamp value as the database returned it
    id: int

    def to_json(self) -> dict[str, Any]:
        return {"ts": self.ts, "id": self.id}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Watermark | None:
        return cls(ts=str(data["ts"]), id=int(data["id"])) if data else None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class SqlSource:
    def __init__(
        self,
        url: str,
        table: str,
        *,
        timestamp_column: str,
        id_column: str = "id",
        batch: int = 50_000,
    ) -> None:
        self.engine = sa.create_engine(url)
        schema, _, name = table.rpartition(".")
        self.table = sa.Table(name, sa.MetaData(), autoload_with=self.engine, schema=schema or None)
        for col in (timestamp_column, id_column):
            if col not in self.table.c:
                raise KeyError(
                    f"table {table} has no column {col!r} (columns: {', '.join(self.table.c.keys())})"
                )
        self.ts = self.table.c[timestamp_column]
        self.id = self.table.c[id_column]
        self.batch = batch
        self._ts_is_datetime = isinstance(self.ts.type, sa.DateTime)

    def _bound(self, wm: Watermark) -> object:
        return datetime.fromisoformat(wm.ts) if self._ts_is_datetime else wm.ts

    def read_after(self, wm: Watermark | None) -> tuple[pl.DataFrame, Watermark | None]:
        """Every row after ``wm`` (in batches), as a raw frame with ``source_line`` = id."""
        columns = list(self.table.c.keys())
        data: dict[str, list[str | None]] = {c: [] for c in columns}
        ids: list[int] = []
        with self.engine.connect() as conn:
            while True:
                query = sa.select(self.table).order_by(self.ts, self.id).limit(self.batch)
                if wm is not None:
                    bound = self._bound(wm)
                    query = query.where(
                        sa.or_(self.ts > bound, sa.and_(self.ts == bound, self.id > wm.id))
                    )
                rows = conn.execute(query).all()
                for row in rows:
                    for c, v in zip(columns, row, strict=True):
                        data[c].append(_text(v))
                    ids.append(int(row._mapping[self.id.name]))
                if rows:
                    last = rows[-1]._mapping
                    wm = Watermark(ts=_text(last[self.ts.name]) or "", id=int(last[self.id.name]))
                if len(rows) < self.batch:
                    break
        frame = pl.DataFrame({c: pl.Series(c, v, dtype=pl.String) for c, v in data.items()})
        return frame.with_columns(pl.Series(LINE, ids, dtype=pl.Int64)), wm

    def close(self) -> None:
        self.engine.dispose()
