"""The report's on-call load per person: pages per week, night pages and why, from the
``on_call`` answers of ``notified`` steps recorded in a real store (SQLite and
PostgreSQL), read back through `escalator report --json` and the HTML page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from escalator.analytics.oncall_load import is_night
from escalator.cli.main import app
from escalator.records.store import Store
from escalator.workflows.contracts import StepKind, TimelineStep

runner = CliRunner()
AS_OF = datetime(2026, 3, 20, tzinfo=UTC)


def _page(
    store: Store,
    exc: str,
    at: datetime,
    on_call: dict[str, Any] | None,
    sent: list[dict[str, Any]],
    *,
    reason: str = "first",
    level: int = 1,
) -> None:
    detected: dict[str, Any] = {
        "journey": "orderToShip", "rule": "awaiting_inventory", "kind": "latency",
        "subject": exc, "severity": "high", "policy_version": "v1",
        "onset": at.isoformat(), "detected_at": at.isoformat(), "owner_role": "inventory",
        "reopened_from": None, "occurrences": 1, "payload": {},
    }  # fmt: skip
    store.record_step_sync(
        TimelineStep(
            exception_id=exc, run_id="r1", seq=1, kind=StepKind.DETECTED, at=at, detail=detected
        )
    )
    detail: dict[str, Any] = {"reason": reason, "status": "sent", "sent": sent, "skipped": []}
    if on_call is not None:
        detail["on_call"] = on_call | {"at": at.isoformat(), "role": "inventory"}
    store.record_step_sync(
        TimelineStep(
            exception_id=exc,
            run_id="r1",
            seq=2,
            kind=StepKind.NOTIFIED,
            at=at + timedelta(seconds=3),
            level=level,
            role="inventory",
            detail=detail,
        )
    )


def _sms(member: str) -> list[dict[str, Any]]:
    return [
        {"role": "inventory", "channel": "slack", "target": "#inv", "member": None, "ok": True},
        {"role": "inventory", "channel": "sms", "target": "+3161", "member": member, "ok": True},
    ]


def _answer(member: str | None, **fields: Any) -> dict[str, Any]:
    return {"member": member, "why": "...", "layer": None, "override": None, "skipped": []} | fields


def record_pages(store: Store) -> None:
    ams, ny = "Europe/Amsterdam", "America/New_York"
    # anna, layer "days" in Amsterdam: 22:30 there (CET, UTC+1) is a night; 10:00 is not.
    _page(store, "e1", datetime(2026, 3, 2, 21, 30, tzinfo=UTC),
          _answer("anna", layer="days", timezone=ams), _sms("anna"))  # fmt: skip
    _page(store, "e2", datetime(2026, 3, 3, 9, tzinfo=UTC),
          _answer("anna", layer="days", timezone=ams), _sms("anna"))  # fmt: skip
    # bram covers by an override dirk made, over the New York night layer: 00:30 there.
    _page(store, "e3", datetime(2026, 3, 4, 5, 30, tzinfo=UTC),
          _answer("bram", layer="nights", override="ov-1", override_by="dirk", timezone=ny),
          _sms("bram"), reason="escalated", level=2)  # fmt: skip
    # chloe covers anna's vacation; no layer zone recorded: the calendar's (Kolkata, +5:30).
    _page(store, "e4", datetime(2026, 3, 10, 12, tzinfo=UTC),
          _answer("chloe", layer="days", skipped=["anna"], calendar_timezone="Asia/Kolkata"),
          _sms("chloe"))  # fmt: skip
    _page(store, "e5", datetime(2026, 3, 10, 18, tzinfo=UTC),
          _answer("chloe", layer="days", skipped=["anna"], calendar_timezone="Asia/Kolkata"),
          _sms("chloe"))  # fmt: skip
    # A gap: nobody scheduled, the first member (anna) got the SMS; no zone at all: UTC.
    _page(store, "e6", datetime(2026, 3, 11, 23, 30, tzinfo=UTC), _answer(None), _sms("anna"))
    # Not a page to a person: the channel post only; and a step with no on-call answer.
    _page(store, "e7", datetime(2026, 3, 12, 2, tzinfo=UTC),
          _answer("bram", layer="nights", timezone=ny), _sms("x")[:1])  # fmt: skip
    _page(store, "e8", datetime(2026, 3, 12, 3, tzinfo=UTC), None, _sms("bram"))


def _report(db_url: str, *args: str) -> dict[str, Any]:
    result = runner.invoke(
        app, ["report", "--json", "--database-url", db_url, "--as-of", AS_OF.isoformat(), *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_on_call_load_per_person_from_the_records(store: Store, db_url: str) -> None:
    record_pages(store)
    load = _report(db_url)["on_call_load"]
    assert load["pages"] == 6 and load["night_pages"] == 4
    assert "22:00 and 07:00" in load["night"]
    people = {p["member"]: p for p in load["people"]}
    assert [p["member"] for p in load["people"]] == ["anna", "chloe", "bram"]
    anna, bram, chloe = people["anna"], people["bram"], people["chloe"]
    assert (anna["pages"], anna["night_pages"], anna["weeks"], anna["max_week_pages"]) == (
        3,
        2,
        2,
        2,
    )
    assert anna["causes"] == {"layer": 2, "override": 0, "vacation_cover": 0, "gap": 1}
    assert (bram["pages"], bram["night_pages"]) == (1, 1)
    assert bram["causes"]["override"] == 1 and bram["overrides_by"] == {"dirk": 1}
    assert (chloe["pages"], chloe["night_pages"], chloe["causes"]["vacation_cover"]) == (2, 1, 2)
    assert anna["roles"] == ["inventory"]
    assert load["per_person_week"] == [
        {"member": "anna", "week": "2026-W10", "pages": 2, "night_pages": 1},
        {"member": "bram", "week": "2026-W10", "pages": 1, "night_pages": 1},
        {"member": "anna", "week": "2026-W11", "pages": 1, "night_pages": 1},
        {"member": "chloe", "week": "2026-W11", "pages": 2, "night_pages": 1},
    ]
    # --since counts only the pages in the period.
    since = _report(db_url, "--since", "2026-03-09T00:00:00+00:00")["on_call_load"]
    assert {p["member"]: p["pages"] for p in since["people"]} == {"anna": 1, "chloe": 2}


def test_on_call_load_in_the_html_page(store: Store, db_url: str, tmp_path: Path) -> None:
    record_pages(store)
    page = tmp_path / "report.html"
    result = runner.invoke(
        app,
        ["report", "--database-url", db_url, "--as-of", AS_OF.isoformat(), "--html", str(page)],
    )
    assert result.exit_code == 0, result.output
    html = page.read_text()
    table = re.search(r'<table id="on-call-load">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert table is not None
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table[1])]
    # member, roles, pages, night, weeks, most in a week, layer, override, vacation, gap, by
    assert rows == [
        ["anna", "inventory", "3", "2", "2", "2", "2", "0", "0", "1", ""],
        ["chloe", "inventory", "2", "1", "1", "2", "0", "0", "2", "0", ""],
        ["bram", "inventory", "1", "1", "1", "1", "0", "1", "0", "0", "dirk (1)"],
    ]
    weeks = re.search(r'<table id="on-call-weeks">(.*?)</table>', html, re.S)
    assert weeks is not None and "<td>2026-W11</td>" in weeks[1]
    assert "22:00 and 07:00" in html


def test_night_is_read_in_the_layer_zone_then_the_calendar_then_utc() -> None:
    at = datetime(2026, 7, 1, 4, 30, tzinfo=UTC)  # 06:30 Amsterdam (CEST), 00:30 New York
    assert is_night(at, "Europe/Amsterdam", "America/New_York")
    assert not is_night(at + timedelta(hours=1), "Europe/Amsterdam", None)  # 07:30
    assert is_night(at + timedelta(hours=1), None, "America/New_York")  # 01:30
    assert not is_night(at + timedelta(hours=3), None, None)  # 07:30 UTC
    assert is_night(datetime(2026, 7, 1, 22, tzinfo=UTC), "Not/AZone", None)  # unknown: UTC
