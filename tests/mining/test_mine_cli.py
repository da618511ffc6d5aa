"""`escalator mine` end to end: the detect reader (quarantine included), JSON keys, HTML."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detectors"))
from test_detect_cli import CSV, POLICY

from escalator.cli.main import app

runner = CliRunner()


def test_mine_json_and_html(tmp_path: Path) -> None:
    policy, log, page = tmp_path / "p.yaml", tmp_path / "orders.csv", tmp_path / "mine.html"
    policy.write_text(POLICY)
    log.write_text(CSV)
    res = runner.invoke(
        app,
        [
            "mine",
            "--log",
            str(log),
            "--policy",
            str(policy),
            "--json",
            "--html",
            str(page),
            "--quarantine",
            str(tmp_path / "q.jsonl"),
            "--allow-quarantine",  # 2 of 6 rows are bad on purpose (over the 1 % limit)
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in ("variants", "variant_count", "dfg", "rework", "correlations", "bottlenecks"):
        assert key in out
    assert out["variant_count"] == 2  # o1 created->paid, o2 created->shipped; bad rows quarantined
    assert {(e["source"], e["target"]) for e in out["dfg"]["edges"]} == {
        ("created", "paid"),
        ("created", "shipped"),
    }
    assert len((tmp_path / "q.jsonl").read_text().splitlines()) == 2
    assert page.read_text().count('class="edge"') == 2


HEAD = "case:concept:name,concept:name,time:timestamp\n"
NO_TRACES = '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0"></log>\n'
EMPTY_TRACE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">'
    '<trace><string key="concept:name" value="o1"/></trace></log>\n'
)
ALL_BAD = HEAD + "o1,created,yesterday\no2,paid,\n"  # every row quarantined
NO_ROWS = "no events: the file has no rows to read"
REREAD = "check that this is the log you meant, or export it again"
FIX = "fix the log or its journey's 'columns:'/'events:'"


@pytest.mark.parametrize(
    ("name", "text", "extra", "says", "what_to_do"),
    [
        ("orders.csv", HEAD, [], NO_ROWS, REREAD),
        ("orders.csv", HEAD, ["--allow-quarantine"], NO_ROWS, REREAD),
        ("orders.xes", NO_TRACES, [], NO_ROWS, REREAD),
        ("orders.xes", EMPTY_TRACE, [], NO_ROWS, REREAD),
        ("orders.csv", ALL_BAD, [], "no events: every row was quarantined", FIX),
        # judged anyway, but nothing is left to mine (was an IndexError, exit 70)
        ("orders.csv", ALL_BAD, ["--allow-quarantine"], "no events to mine", FIX),
    ],
    ids=[
        "header only",
        "header only, allow quarantine",
        "xes without traces",
        "xes trace without events",
        "every row quarantined",
        "every row quarantined, allow quarantine",
    ],
)
def test_a_log_with_no_events_is_one_error_naming_the_file(
    tmp_path: Path, name: str, text: str, extra: list[str], says: str, what_to_do: str
) -> None:
    policy, log = tmp_path / "p.yaml", tmp_path / name
    policy.write_text(POLICY)
    log.write_text(text)
    res = runner.invoke(
        app,
        ["mine", "--log", str(log), "--policy", str(policy), "--json",
         "--quarantine", str(tmp_path / "q.jsonl"), *extra],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {log}: {says}"), res.stderr
    assert what_to_do in res.stderr.lower()
    assert "Traceback" not in res.output and "unexpected" not in res.output
