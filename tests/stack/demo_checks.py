"""What `escalator demo --exit` must leave behind: a report that agrees with the records.

Used by the end-to-end demo test; the expected count of exceptions is computed
here independently, by a backtest of the bundled log with the demo policies.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from escalator.detectors.backtest import run_backtest
from escalator.policies.loader import load_policies
from escalator.stack.demo_loop import DEMO_DATA, JOURNEYS, demo_policy_files

# Every duration of the demo happens within its run (about a minute; far less than a day)
# once onsets, detections and answers share the replay's clock; onsets taken from the
# log's own clock (February-March 2026) made "onset -> detected" read months.
WITHIN_THE_RUN = 600.0  # seconds
SPANS = {
    "onset -> detected": ("onset", "detected_at"),
    "detected -> acknowledged": ("detected_at", "acknowledged_at"),
    "detected -> resolved": ("detected_at", "resolved_at"),
}
REPORT_DATA = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


def expected_firings() -> int:
    policies = load_policies(demo_policy_files())
    return sum(
        sum(
            r.frame.height
            for r in run_backtest(DEMO_DATA / f"{j}.csv", policies, journey=j).results
        )
        for j in JOURNEYS
    )


def check_demo_report(state_dir: Path, output: str) -> None:
    """Assert the demo's report: HTML with embedded JSON whose figures match the records."""
    raised = re.search(r"raised (\d+) exceptions", output)
    assert raised, output
    said = int(raised.group(1))
    assert said == expected_firings() == 45  # every rule kind of both journeys, by design

    html = state_dir / "report.html"
    assert html.exists(), output
    found = REPORT_DATA.search(html.read_text(encoding="utf-8"))
    assert found, "the HTML report embeds no report-data JSON"
    embedded = json.loads(found.group(1).replace("\\u003c", "<"))
    printed = json.loads((state_dir / "report.json").read_text(encoding="utf-8"))
    assert embedded["totals"] == printed["totals"]

    with sqlite3.connect(state_dir / "records.db") as db:
        rows = db.execute("SELECT count(*) FROM exceptions").fetchone()[0]
        resolved_by = dict(
            db.execute(
                "SELECT resolved_by, count(*) FROM exceptions WHERE resolved_by IS NOT NULL "
                "GROUP BY resolved_by"
            ).fetchall()
        )
        acked = {r[0] for r in db.execute("SELECT acknowledged_by FROM exceptions")}
        grouped = db.execute(
            "SELECT count(DISTINCT exception_id) FROM timeline_steps WHERE kind = 'grouped'"
        ).fetchone()[0]
        routed = dict(
            db.execute(
                "SELECT e.rule || '/' || e.routing_decision, count(*) FROM exceptions e "
                "GROUP BY e.rule, e.routing_decision"
            ).fetchall()
        )
        held = db.execute(
            "SELECT count(*) FROM timeline_steps WHERE kind = 'routed' "
            "AND json_extract(detail, '$.deliver_at') IS NOT NULL"
        ).fetchone()[0]
        spans = {
            name: db.execute(
                f"SELECT min(d), max(d), count(d) FROM (SELECT "
                f"(julianday({end}) - julianday({start})) * 86400 AS d FROM exceptions)"
            ).fetchone()
            for name, (start, end) in SPANS.items()
        }
        storm_messages = db.execute(
            "SELECT count(*) FROM notifications WHERE exception_id LIKE 'storm:%'"
        ).fetchone()[0]
    totals = embedded["totals"]
    assert totals["exceptions"] == rows == said
    assert totals["resolved"] <= sum(resolved_by.values())  # more may resolve after the report
    assert resolved_by.get("detector", 0) >= 1  # condition cleared
    assert resolved_by.get("dirk") == 1 and resolved_by.get("anna") == 1  # scripted owners
    assert {"dirk", "anna", "hugo"} <= acked
    assert totals["escalated"] >= 1
    assert grouped >= 1 and storm_messages >= 1
    assert len(embedded["slos"]) == 4  # two SLIs per journey, from the bundled logs
    assert all(s["valid"] > 0 for s in embedded["slos"])  # judged as of the replayed log
    # Routing by error budget, per the story of each rule in escalator/detectors/demo_log.py:
    assert routed.get("label_print_failed/page") == 1, routed  # critical always pages
    assert routed.get("awaiting_inventory/notify") == 12, routed  # no budget burnt yet
    assert routed.get("awaiting_customer/ticket") == 3, routed  # a low-volume journey
    assert routed.get("shipped_without_tracking/ticket") == 2, routed  # medium, no burn
    assert routed.get("payment_pending/page", 0) >= 5, routed  # the payment outage burns
    assert held == 1  # the pending payment at night: a notification that waits as a ticket
    check_durations(embedded, spans)


def check_durations(report: dict[str, Any], spans: dict[str, tuple[float, float, int]]) -> None:
    """Onset, detection and answers on one clock: every span is short and never negative."""
    assert spans["onset -> detected"][2] == 45, spans  # every exception has an onset
    assert spans["detected -> acknowledged"][2] >= 3 and spans["detected -> resolved"][2] >= 3
    for name, (low, high, _count) in spans.items():
        assert 0 <= low <= high < WITHIN_THE_RUN, f"{name}: {low:.1f}..{high:.1f} s"
    for key in ("time_to_detect", "time_to_acknowledge", "time_to_restore"):
        overall = report[key]["overall"]
        assert overall["count"] > 0 and 0 <= overall["p99"] < WITHIN_THE_RUN, (key, overall)
    assert report["time_to_detect"]["overall"]["count"] == 45
