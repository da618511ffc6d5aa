"""`escalator report` end to end: steps recorded in a real store, figures read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from analytics_fixtures import AS_OF, LOG_AS_OF, event_log, exceptions
from report_steps import record_fixture
from typer.testing import CliRunner

from escalator.analytics.report import build_report
from escalator.cli.main import app
from escalator.cli.records import parse_when
from escalator.records.engine import head_revision
from escalator.records.frames import load_exceptions
from escalator.records.store import Store

runner = CliRunner()


def _report_json(db_url: str, *args: str) -> dict:
    result = runner.invoke(
        app, ["report", "--json", "--database-url", db_url, "--as-of", AS_OF.isoformat(), *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_report_json_from_the_store_matches_the_hand_checked_figures(
    store: Store, db_url: str
) -> None:
    record_fixture(store)
    got = _report_json(db_url)
    expected = json.loads(json.dumps(build_report(exceptions(), as_of=AS_OF), default=str))
    assert got == expected
    assert got["time_to_restore"]["overall"] == {
        "count": 3,
        "p50": 3600.0,
        "p90": 9360.0,
        "p99": 10656.0,
    }
    assert got["rework"]["overall"]["rate"] == 0.75
    frame = load_exceptions(store.engine)
    assert frame.height == 5


def test_report_since(store: Store, db_url: str) -> None:
    record_fixture(store)
    got = _report_json(db_url, "--since", "2d")  # as of T + 9 d 2 h: D and C/r2 only
    assert got["totals"]["exceptions"] == 2
    assert got["since"] == "2026-03-09T11:00:00+00:00"


def test_report_with_journey_log_and_html(tmp_path: Path, sqlite_url: str) -> None:
    log_file = tmp_path / "orders.parquet"
    # The shipped policy's orderToShip journey reads XES-named columns by default.
    event_log().rename(
        {
            "case_id": "case:concept:name",
            "event_name": "concept:name",
            "timestamp": "time:timestamp",
            "actor": "org:resource",
        }
    ).write_parquet(log_file)
    html = tmp_path / "out" / "report.html"
    result = runner.invoke(
        app,
        ["report", "--json", "--html", str(html), "--database-url", sqlite_url,
         "--as-of", LOG_AS_OF.isoformat(), "--log", f"orderToShip={log_file}"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["journey"] for s in data["slos"]] == ["orderToShip"] * len(data["slos"])
    assert data["dora_operations"]["lead_time"][0]["cases"] == 8
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and 'id="report-data"' in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # no external assets


def test_bad_inputs_are_clear_errors(sqlite_url: str, tmp_path: Path) -> None:
    cases = [
        (["--log", "orderToShip"], "write JOURNEY=FILE"),
        (["--log", "noSuchJourney=x.csv"], "no journey 'noSuchJourney'"),
        (["--log", f"orderToShip={tmp_path / 'missing.csv'}"], "does not exist"),
        (["--since", "last tuesday"], "--since 'last tuesday'"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["report", "--database-url", sqlite_url, *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)


def test_text_report_and_db_commands(sqlite_url: str) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--database-url", sqlite_url])
    head = head_revision()
    assert result.exit_code == 0 and f"revision {head} (was empty)" in result.stdout
    result = runner.invoke(app, ["db", "current", "--database-url", sqlite_url])
    assert json.loads(result.stdout) == {"current": head, "head": head}
    store = Store.open(sqlite_url)
    record_fixture(store)
    store.close()
    result = runner.invoke(
        app, ["report", "--database-url", sqlite_url, "--as-of", AS_OF.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "Time to restore" in result.stdout and "billing" in result.stdout


def test_parse_when() -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    assert parse_when("2026-03-01", now, "--since") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_when("7d", now, "--since") == datetime(2026, 3, 3, tzinfo=UTC)
    assert isinstance(pl.DataFrame(), pl.DataFrame)


def test_html_escapes_hostile_names() -> None:
    from analytics_fixtures import ROWS

    from escalator.analytics.render_html import render_html

    evil = "</script><script>alert(1)</script><!--"
    rows = [(evil, *ROWS[4][1:])]
    data = json.loads(json.dumps(build_report(exceptions(rows), as_of=AS_OF), default=str))
    page = render_html(data)
    assert "<script>alert(1)" not in page
    embedded = page.split('<script type="application/json" id="report-data">')[1].split(
        "</script>"
    )[0]
    assert json.loads(embedded) == data


def test_unreachable_database_is_a_clear_error() -> None:
    for url, reason in [
        ("nosuchdb://x/y", "cannot open the records database nosuchdb://x/y"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/db", "cannot open the records database"),
        ("not a url", "cannot open the records database not a url"),
    ]:
        result = runner.invoke(app, ["report", "--database-url", url])
        assert result.exit_code == 2, (url, result.output)
        assert reason in result.stderr and "secret" not in result.stderr
        assert "ESCALATOR_DATABASE_URL" in result.stderr
