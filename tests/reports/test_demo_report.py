"""The demo's report tells the truth about its SLOs: the replayed log (February-March
2026) is judged as of its own last event, so every SLO has real valid cases and a
budget that moved, whatever the day the demo runs."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.policies.loader import load_policies
from escalator.stack.demo_loop import JOURNEYS, demo_policy_files, report_args

runner = CliRunner()


def test_demo_report_has_valid_events_for_every_slo(sqlite_url: str) -> None:
    res = runner.invoke(app, [*report_args(), "--json", "--database-url", sqlite_url])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    policies = load_policies(demo_policy_files())
    want = {(j, s.name) for j in JOURNEYS for s in policies.journey(j).slis}
    slos = {(s["journey"], s["sli"]): s for s in report["slos"]}
    assert set(slos) == want
    for key, slo in slos.items():
        assert slo["valid"] > 0, key
    assert report["logs_as_of"] == "2026-03-06T17:06:41+00:00"  # the replayed log's end
    assert any(s["error_budget_remaining"] < 1 for s in slos.values())  # not all untouched


def test_without_logs_as_of_the_window_is_empty_today(sqlite_url: str) -> None:
    """Why the option: as of a day long after the log, nothing is in the SLO window."""
    args = [a for a in report_args() if a not in ("--logs-as-of", "end")]
    res = runner.invoke(
        app, [*args, "--json", "--database-url", sqlite_url, "--as-of", "2026-12-06T00:00:00Z"]
    )
    assert res.exit_code == 0, res.output
    assert all(s["valid"] == 0 for s in json.loads(res.stdout)["slos"])
