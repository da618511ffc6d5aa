"""The report's learning loop per rule, from a real store (SQLite and PostgreSQL):
confirmed against false alarms, causes, time to restore, and the flags with the
suggested change, which follow the rule's latest kept scorecard."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from escalator.analytics.rule_learning import rule_flags, scorecard_view
from escalator.cli.main import app
from escalator.records.scorecards import keep_scorecards
from escalator.records.store import Store
from escalator.workflows.contracts import StepKind, TimelineStep

runner = CliRunner()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _exception(store: Store, rule: str, n: int, real: bool | None, cause: str | None) -> None:
    exc = f"exc:orders:{rule}:c-{n}"
    at = T0 + timedelta(hours=n)
    detail = {
        "journey": "orders", "rule": rule, "kind": "latency", "subject": f"c-{n}",
        "severity": "medium", "onset": at.isoformat(), "detected_at": at.isoformat(),
        "owner_role": "ops", "occurrences": 1, "payload": {},
    }  # fmt: skip
    resolved = {"note": "done", "cause": cause, **({"real": real} if real is not None else {})}
    for seq, kind, minutes, fields in (
        (1, StepKind.DETECTED, 0, {"detail": detail}),
        (2, StepKind.ACKNOWLEDGED, 5, {"actor": "ann"}),
        (3, StepKind.RESOLVED, 20 + n, {"actor": "ann", "detail": resolved}),
    ):
        store.record_step_sync(
            TimelineStep(
                exception_id=exc, run_id="r1", seq=seq, kind=kind,
                at=at + timedelta(minutes=minutes), **fields,
            )
        )  # fmt: skip


def _report(db_url: str, *args: str) -> dict:
    result = runner.invoke(
        app,
        ["report", "--json", "--database-url", db_url, "--as-of", "2026-03-05T00:00:00Z", *args],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_report_counts_verdicts_and_flags_rules(store: Store, db_url: str) -> None:
    # noisy: 3 false alarms of 4 judged, lift 1.4 (weak): route as ticket.
    for n, real, cause in [(1, False, None), (2, False, "noise"), (3, False, "noise"),
                           (4, True, "bank_outage"), (5, None, None)]:  # fmt: skip
        _exception(store, "noisy", n, real, cause)
    # chance: confirmed by owners, but its scorecard's lift is 0.9: retire.
    for n in (6, 7, 8):
        _exception(store, "chance", n, True, "stock_sync")
    # fine: two confirmed, one false alarm (33 % < 50 %), lift 3: no flag.
    for n, real in [(9, True), (10, True), (11, False)]:
        _exception(store, "fine", n, real, None)
    keep_scorecards(
        store,
        journey="orders",
        log="orders.csv",
        figures=[
            {"rule": "noisy", "precision": 0.3, "lift": 1.4, "base_rate": 0.2},
            {"rule": "chance", "precision": 0.55, "lift": 0.9, "base_rate": 0.61},
            {"rule": "fine", "precision": 0.8, "lift": 3.0, "base_rate": 0.25},
        ],
    )
    got = {r["rule"]: r for r in _report(db_url)["rule_learning"]}
    noisy = got["noisy"]
    assert (noisy["confirmed"], noisy["false_alarms"], noisy["not_said"]) == (1, 3, 1)
    assert noisy["false_alarm_share"] == 0.75
    assert noisy["causes"] == [{"cause": "noise", "count": 2}, {"cause": "bank_outage", "count": 1}]
    assert noisy["median_time_to_restore_s"] == 23 * 60  # 21..25 minutes after detection
    assert noisy["median_time_to_acknowledge_s"] == 5 * 60
    assert [f["suggestion"] for f in noisy["flags"]] == ["route as ticket"]
    assert [f["suggestion"] for f in got["chance"]["flags"]] == ["retire"]
    assert "lift 0.90 <= 1" in got["chance"]["flags"][0]["reason"]
    assert got["fine"]["flags"] == []
    # A stricter threshold flags "fine" too (1 of 3): strong lift, so retune with the sweep.
    strict = {
        r["rule"]: r for r in _report(db_url, "--false-alarm-threshold", "0.3")["rule_learning"]
    }
    assert [f["suggestion"] for f in strict["fine"]["flags"]] == ["retune"]
    assert "escalator scorecard --sweep fine" in strict["fine"]["flags"][0]["how"]
    # The terminal table says the same.
    text = runner.invoke(
        app, ["report", "--database-url", db_url, "--as-of", "2026-03-05T00:00:00Z"]
    ).stdout
    assert "route as ticket" in text and "retire" in text


def test_a_scorecard_without_lift_degrades_clearly() -> None:
    view = scorecard_view({"rule": "r", "precision": 0.5, "firings": 10})
    assert (view.has_lift, view.lift, view.precision) == (False, None, 0.5)
    # Only the owners' verdicts can flag it then; too few verdicts flag nothing.
    flags = rule_flags("r", confirmed=0, false_alarms=3, scorecard=view)
    assert [f["suggestion"] for f in flags] == ["retune"]
    assert rule_flags("r", confirmed=0, false_alarms=2, scorecard=view) == []
    assert rule_flags("r", confirmed=5, false_alarms=0, scorecard=None) == []
