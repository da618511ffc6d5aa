"""On-call load per person: pages per week, night pages, and why each page reached them.

A fair rota is one where the pages, and the nights, are spread: this counts them per
member from the pages the records say reached that member in person
(``escalator.records.oncall_pages``). A **night page** is one whose level started
between 22:00 and 07:00 on the clock of the member's schedule layer (the zone they
are on call in), else of the escalation policy's calendar, else UTC. Weeks are ISO
weeks in UTC, as elsewhere in the report.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

__all__ = [
    "CAUSES",
    "NIGHT",
    "NIGHT_LABEL",
    "ON_CALL_PAGES_SCHEMA",
    "cause",
    "is_night",
    "on_call_load",
]

NIGHT = (22, 7)  # from 22:00 until 07:00 local time
NIGHT_LABEL = (
    "Night page: the level started between 22:00 and 07:00 on the clock of the member's "
    "schedule layer, else of the escalation policy's calendar, else UTC."
)
CAUSES = ("layer", "override", "vacation_cover", "gap")
ON_CALL_PAGES_SCHEMA: dict[str, pl.DataType] = {
    "exception_id": pl.String(),
    "run_id": pl.String(),
    "at": pl.Datetime("us", "UTC"),
    "level": pl.Int64(),
    "role": pl.String(),
    "member": pl.String(),
    "cause": pl.String(),  # layer | override | vacation_cover | gap
    "layer": pl.String(),
    "override": pl.String(),
    "override_by": pl.String(),
    "skipped": pl.String(),  # members passed over as away, comma-separated
    "timezone": pl.String(),  # the layer's zone, when the answer had one
    "calendar_timezone": pl.String(),
    "reason": pl.String(),  # the notification's: first, escalated, reminder, ...
}


def cause(on_call: dict[str, Any]) -> str:
    """Why this member: an override, a vacation covered (the next in order while someone
    was away), the layer's rotation, or a gap (nobody scheduled: the first member)."""
    if on_call.get("override"):
        return "override"
    if on_call.get("member") is None:
        return "gap"
    if on_call.get("skipped"):
        return "vacation_cover"
    return "layer"


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_night(at: datetime, timezone: str | None, calendar_timezone: str | None) -> bool:
    zone = _zone(timezone) or _zone(calendar_timezone) or ZoneInfo("UTC")
    hour = at.astimezone(zone).hour
    return hour >= NIGHT[0] or hour < NIGHT[1]


def on_call_load(pages: pl.DataFrame) -> dict[str, Any]:
    """Per member: pages, night pages, the weeks paged and the busiest one, the roles, and
    the cause mix (the schedule's layer, an override and who made it, covering a colleague
    away, a gap); per member per ISO week: pages and night pages."""
    weekly: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    people: dict[str, dict[str, Any]] = {}
    for r in pages.iter_rows(named=True):
        member, at = r["member"], r["at"]
        night = is_night(at, r["timezone"], r["calendar_timezone"])
        week = at.strftime("%G-W%V")
        weekly[(member, week)].update({"pages": 1, "night_pages": int(night)})
        p = people.setdefault(
            member,
            {
                "member": member,
                "roles": set(),
                "pages": 0,
                "night_pages": 0,
                "causes": dict.fromkeys(CAUSES, 0),
                "overrides_by": Counter(),
            },
        )
        p["roles"].add(r["role"])
        p["pages"] += 1
        p["night_pages"] += int(night)
        p["causes"][r["cause"]] += 1
        if r["cause"] == "override" and r["override_by"]:
            p["overrides_by"][r["override_by"]] += 1
    rows = []
    for p in people.values():
        weeks = [c["pages"] for (m, _), c in weekly.items() if m == p["member"]]
        rows.append(
            p
            | {
                "roles": sorted(p["roles"]),
                "weeks": len(weeks),
                "max_week_pages": max(weeks),
                "overrides_by": dict(sorted(p["overrides_by"].items())),
            }
        )
    rows.sort(key=lambda p: (-p["pages"], p["member"]))
    per_week = [
        {"member": m, "week": w, "pages": c["pages"], "night_pages": c["night_pages"]}
        for (m, w), c in sorted(weekly.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]
    return {
        "night": NIGHT_LABEL,
        "pages": pages.height,
        "night_pages": sum(p["night_pages"] for p in rows),
        "people": rows,
        "per_person_week": per_week,
    }
