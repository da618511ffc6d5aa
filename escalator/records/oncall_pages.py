"""Who each page reached, and why: the on-call answers in the records' timeline, as a frame.

A level's ``notified`` step carries ``on_call`` (member, layer, override and who made
it, members skipped as away, the layer's zone and the calendar's) when the level's
role has a schedule or a rotation; its ``sent`` entries say which targets were people.
One row per such step that addressed a person directly (DM, SMS, voice, console):
a post in the role's channel alone interrupts nobody in particular.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from escalator.analytics.oncall_load import ON_CALL_PAGES_SCHEMA, cause
from escalator.records.projection import as_utc
from escalator.records.tables import TimelineRecord

__all__ = ["load_on_call_pages", "on_call_page_row"]

STEPS = TimelineRecord.__table__  # type: ignore[attr-defined]


def on_call_page_row(
    exception_id: str,
    run_id: str,
    at: datetime,
    level: int | None,
    role: str | None,
    detail: dict[str, Any],
) -> dict[str, Any] | None:
    """The row for one ``notified`` step, or None when it paged no one in person."""
    on_call = detail.get("on_call")
    if not isinstance(on_call, dict):
        return None
    people = [
        e.get("member")
        for e in detail.get("sent") or []
        if isinstance(e, dict) and e.get("member") and e.get("channel") != "webhook"
    ]
    member = on_call.get("member") or (people[0] if people else None)
    if member is None or member not in people:
        return None
    return {
        "exception_id": exception_id,
        "run_id": run_id,
        "at": as_utc(on_call.get("at")) or as_utc(at),  # when the level started
        "level": level,
        "role": on_call.get("role") or role,
        "member": member,
        "cause": cause(on_call),
        "layer": on_call.get("layer"),
        "override": on_call.get("override"),
        "override_by": on_call.get("override_by"),
        "skipped": ", ".join(on_call.get("skipped") or []) or None,
        "timezone": on_call.get("timezone"),
        "calendar_timezone": on_call.get("calendar_timezone"),
        "reason": detail.get("reason"),
    }


def load_on_call_pages(engine: sa.Engine, *, since: datetime | None = None) -> pl.DataFrame:
    """Every page that reached the on-call member in person (see the module doc)."""
    query = sa.select(
        STEPS.c.exception_id, STEPS.c.run_id, STEPS.c.at, STEPS.c.level, STEPS.c.role,
        STEPS.c.detail,
    ).where(STEPS.c.kind == "notified")  # fmt: skip
    since_utc = as_utc(since)
    if since_utc is not None:
        query = query.where(STEPS.c.at >= since_utc)
    rows = []
    with engine.connect() as conn:
        for r in conn.execute(query.order_by(STEPS.c.at, STEPS.c.seq)):
            at = as_utc(r[2])
            assert at is not None  # the column is NOT NULL
            row = on_call_page_row(r[0], r[1], at, r[3], r[4], r[5] or {})
            if row is not None:
                rows.append(row)
    return pl.DataFrame(rows, schema=ON_CALL_PAGES_SCHEMA)
