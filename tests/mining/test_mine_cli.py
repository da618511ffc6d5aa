"""`escalator mine` end to end: the detect reader (quarantine included), JSON keys, HTML."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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
