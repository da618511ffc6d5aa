"""What `escalator demo --exit` must leave behind: a report that agrees with the records.

Used by the end-to-end demo test; the expected count of exceptions is computed
here independently, by a backtest of the bundled log with the demo policies.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from detectors.backtest import run_backtest
from policies.loader import load_policies
from workers.demo_loop import DEMO_DATA, JOURNEYS, demo_policy_files

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
    assert said == expected_firings() == 35  # every rule kind of both journeys, by design

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
    # Routing by error budget, per the story of each rule in detectors/demo_log.py:
    assert routed.get("label_print_failed/page") == 1, routed  # critical always pages
    assert routed.get("awaiting_inventory/notify") == 12, routed  # no budget burnt yet
    assert routed.get("awaiting_customer/ticket") == 3, routed  # a low-volume journey
    assert routed.get("shipped_without_tracking/ticket") == 2, routed  # medium, no burn
    assert routed.get("payment_pending/page", 0) >= 5, routed  # the payment outage burns
    assert held == 1  # the pending payment at night: a notification that waits as a ticket
