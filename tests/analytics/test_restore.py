"""Time to detect / acknowledge / restore, open by age, rework: checked by hand.

Fixture (analytics_fixtures.ROWS), durations in seconds:
restore  A 3600, B 10800, C/r1 1800 (C/r2 and D still open)
ack      A 300, B 900, D 2400
detect   A 600, B 1800, C/r1 3600, C/r2 0, D 7200
Percentiles interpolate linearly: p90 of [1800, 3600, 10800] sits at rank 1.8,
3600 + 0.8 x 7200 = 9360.
"""

from __future__ import annotations

import polars as pl
from analytics_fixtures import AS_OF, ROWS, D, H, M, T, exceptions

from escalator.analytics.report import build_report
from escalator.analytics.restore import duration_report, durations, open_by_age, rework_rate
from escalator.analytics.schema import empty_exceptions


def _summary(count: int, p50: float | None, p90: float | None, p99: float | None) -> dict:
    return {"count": count, "p50": p50, "p90": p90, "p99": p99}


def test_time_to_restore() -> None:
    rep = duration_report(durations(exceptions()), "time_to_restore")
    assert rep["overall"] == _summary(3, 3600.0, 9360.0, 10656.0)
    assert rep["by_journey"] == [{"journey": "orderToShip", **_summary(3, 3600.0, 9360.0, 10656.0)}]
    assert rep["by_rule"] == [
        {"rule": "awaiting_inventory", **_summary(1, 1800.0, 1800.0, 1800.0)},
        {"rule": "payment_pending", **_summary(2, 7200.0, 10080.0, 10728.0)},
    ]
    assert [r["owner_role"] for r in rep["by_owner_role"]] == ["billing", "inventory"]
    assert rep["by_severity"][0] == {"severity": "high", **_summary(2, 7200.0, 10080.0, 10728.0)}
    assert rep["by_week"] == [{"week": "2026-W10", **_summary(3, 3600.0, 9360.0, 10656.0)}]


def test_time_to_acknowledge_and_detect() -> None:
    timed = durations(exceptions())
    ack = duration_report(timed, "time_to_acknowledge")
    assert ack["overall"] == _summary(3, 900.0, 2100.0, 2370.0)
    assert ack["by_journey"] == [
        {"journey": "orderToShip", **_summary(2, 600.0, 840.0, 894.0)},
        {"journey": "ticketToResolution", **_summary(1, 2400.0, 2400.0, 2400.0)},
    ]
    detect = duration_report(timed, "time_to_detect")
    assert detect["overall"] == _summary(5, 1800.0, 5760.0, 7056.0)
    assert detect["by_week"] == [
        {"week": "2026-W10", **_summary(3, 1800.0, 3240.0, 3564.0)},
        {"week": "2026-W11", **_summary(2, 3600.0, 6480.0, 7128.0)},
    ]


def test_open_by_age() -> None:
    counts = {b["bucket"]: b["count"] for b in open_by_age(exceptions(), AS_OF)}
    # C/r2 is 26 h old, D is 2 h old; the resolved ones do not count.
    assert counts == {"< 15m": 0, "15m-1h": 0, "1h-4h": 1, "4h-24h": 0, "1d-7d": 1, ">= 7d": 0}
    # As of just after D was detected, D is in the first bucket.
    early = {b["bucket"]: b["count"] for b in open_by_age(exceptions(), T + 9 * D + M)}
    assert early["< 15m"] == 1 and early["1d-7d"] == 1
    # Exceptions detected after as_of are not open yet.
    assert sum(b["count"] for b in open_by_age(exceptions(), T + 3 * D)) == 0
    # B was open between its detection and its resolution 3 h later.
    during = {b["bucket"]: b["count"] for b in open_by_age(exceptions(), T + D + H)}
    assert during["1h-4h"] == 1 and sum(during.values()) == 1


def test_rework_counts_each_exception_once() -> None:
    overall = rework_rate(exceptions())[0]
    # A no; B escalated to 2; C reopened (two runs, counted once); D escalated to 3.
    assert overall == {"exceptions": 4, "rework": 3, "escalated": 2, "reopened": 1, "rate": 0.75}
    by = {r["journey"]: r for r in rework_rate(exceptions(), "journey")}
    assert by["orderToShip"]["rate"] == round(2 / 3, 6)
    assert by["ticketToResolution"]["rate"] == 1.0


def test_report_tables() -> None:
    rep = build_report(exceptions(), as_of=AS_OF)
    assert rep["totals"] == {
        "exceptions": 5,
        "open": 2,
        "resolved": 3,
        "reopened": 1,
        "escalated": 2,
    }
    assert [b["count"] for b in rep["restore_distribution"]] == [0, 1, 2, 0, 0, 0]
    assert rep["exceptions_per_rule_week"] == [
        {"rule": "awaiting_inventory", "week": "2026-W10", "count": 1},
        {"rule": "payment_pending", "week": "2026-W10", "count": 2},
        {"rule": "awaiting_customer", "week": "2026-W11", "count": 1},
        {"rule": "awaiting_inventory", "week": "2026-W11", "count": 1},
    ]
    assert rep["load_by_owner_role"] == [
        {"owner_role": "billing", "exceptions": 2, "open": 0, "escalated": 1},
        {"owner_role": "inventory", "exceptions": 2, "open": 1, "escalated": 0},
        {"owner_role": "support", "exceptions": 1, "open": 1, "escalated": 1},
    ]
    open_list = rep["open_exceptions"]
    assert (open_list["count"], open_list["shown"]) == (2, 2)
    first, second = open_list["oldest_first"]
    assert (first["exception_id"], first["run_id"], first["age_seconds"]) == (
        "C",
        "r2",
        26 * 3600.0,
    )
    assert second["url"] == "http://localhost:8233/namespaces/default/workflows/D"
    assert rep["dora_operations"]["change_failure_rate"] == 0.75
    assert rep["dora_operations"]["time_to_restore"]["p50"] == 3600.0


def test_since_filters_by_detection() -> None:
    rep = build_report(exceptions(), as_of=AS_OF, since=T + 7 * D)
    assert rep["totals"]["exceptions"] == 2
    assert rep["time_to_restore"]["overall"] == _summary(0, None, None, None)


def test_empty_data() -> None:
    rep = build_report(empty_exceptions(), as_of=AS_OF)
    assert rep["totals"] == {
        "exceptions": 0,
        "open": 0,
        "resolved": 0,
        "reopened": 0,
        "escalated": 0,
    }
    for measure in ("time_to_detect", "time_to_acknowledge", "time_to_restore"):
        assert rep[measure]["overall"] == _summary(0, None, None, None)
        assert rep[measure]["by_journey"] == []
    assert all(b["count"] == 0 for b in rep["open_by_age"] + rep["restore_distribution"])
    assert rep["rework"]["overall"]["rate"] is None
    assert rep["exceptions_per_rule_week"] == [] and rep["load_by_owner_role"] == []
    assert rep["open_exceptions"] == {"count": 0, "shown": 0, "oldest_first": []}


def test_single_exception() -> None:
    rep = build_report(exceptions(ROWS[1:2]), as_of=AS_OF)
    assert rep["time_to_restore"]["overall"] == _summary(1, 10800.0, 10800.0, 10800.0)
    assert rep["time_to_acknowledge"]["overall"] == _summary(1, 900.0, 900.0, 900.0)
    assert rep["rework"]["overall"]["rate"] == 1.0
    assert rep["open_exceptions"]["count"] == 0


def test_still_open_exceptions_have_no_restore_time() -> None:
    only_open = exceptions([ROWS[3], ROWS[4]])
    timed = durations(only_open)
    assert timed["time_to_restore"].null_count() == 2
    rep = build_report(only_open, as_of=AS_OF)
    assert rep["time_to_restore"]["overall"]["count"] == 0
    assert rep["totals"]["open"] == 2
    assert rep["time_to_acknowledge"]["overall"]["count"] == 1
    assert rep["open_by_age"][2]["count"] == 1  # D: 2 h
    assert isinstance(timed, pl.DataFrame) and H.total_seconds() == 3600
