"""What the demo reads back from the records database to say whether the loop worked.

Plain SQL over the records tables (the worker writes them; the demo only
reads), so the demo's verdict comes from what was recorded, not from what the
demo itself believes it did.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

__all__ = ["RecordsView", "read_records", "wait_for_records"]


@dataclass
class RecordsView:
    exceptions: dict[str, dict[str, Any]] = field(default_factory=dict)  # latest run per id
    rows: int = 0  # exception runs
    grouped: set[str] = field(default_factory=set)  # exceptions that joined a storm
    storm_messages: int = 0  # grouped messages sent or updated
    notifications: int = 0
    # One routing decision per exception (the first ROUTED step): decision, headline, held?
    routed: dict[str, dict[str, Any]] = field(default_factory=dict)

    def where(self, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.exceptions.values() if all(r.get(k) == v for k, v in match.items())]

    @property
    def escalated(self) -> list[str]:
        return [i for i, r in self.exceptions.items() if (r["highest_level"] or 0) > 1]

    @property
    def held_for_support_hours(self) -> list[str]:
        """Exceptions whose routing dropped a tier and waited for support hours to start."""
        return [i for i, d in self.routed.items() if d.get("deliver_at")]

    def routed_as(self, action: str) -> list[str]:
        return [i for i, d in self.routed.items() if d.get("decision") == action]

    @property
    def auto_resolved(self) -> list[str]:
        return [
            i
            for i, r in self.exceptions.items()
            if r["resolved_by"] == "detector" and r["resolution_cause"] == "condition_cleared"
        ]


def read_records(url: str) -> RecordsView:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT exception_id, run_id, journey, rule, owner_role, state, highest_level,"
                    " acknowledged_by, resolved_by, resolution_cause, routing_decision,"
                    " detected_at FROM exceptions ORDER BY detected_at"
                )
            ).mappings()
            view = RecordsView()
            for row in rows:
                view.rows += 1
                view.exceptions[row["exception_id"]] = dict(row)
            view.grouped = {
                r[0]
                for r in conn.execute(
                    sa.text("SELECT exception_id FROM timeline_steps WHERE kind = 'grouped'")
                )
            }
            view.storm_messages = int(
                conn.execute(
                    sa.text("SELECT count(*) FROM notifications WHERE exception_id LIKE 'storm:%'")
                ).scalar_one()
            )
            steps = conn.execute(
                sa.text(
                    "SELECT exception_id, detail FROM timeline_steps WHERE kind = 'routed'"
                    " ORDER BY at"
                )
            )
            for exception_id, detail in steps:
                d = json.loads(detail) if isinstance(detail, str) else (detail or {})
                view.routed.setdefault(exception_id, d)
            view.notifications = int(
                conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar_one()
            )
    finally:
        engine.dispose()
    return view


def wait_for_records(url: str, ready: Any, within: float) -> tuple[RecordsView | None, str]:
    """Poll the records until ``ready(view)`` is true; (last view, last error) on timeout."""
    deadline = time.monotonic() + within
    view: RecordsView | None = None
    error = ""
    while True:
        try:
            view = read_records(url)
            if ready(view):
                return view, ""
        except sa.exc.OperationalError as exc:  # the worker may still be creating the schema
            error = str(exc).splitlines()[0]
        if time.monotonic() > deadline:
            return view, error
        time.sleep(0.5)
