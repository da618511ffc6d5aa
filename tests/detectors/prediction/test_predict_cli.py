"""`escalator predict train|evaluate` end to end on a synthetic log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalator.cli.main import app

from .synthetic import order_rows, write_log, write_policy

runner = CliRunner()


def test_train_then_evaluate_json_and_html(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "policy.yaml")
    log = write_log(tmp_path / "orders.csv", order_rows(300))
    out = tmp_path / "model.json"
    q = tmp_path / "q.jsonl"
    res = runner.invoke(
        app,
        ["predict", "train", "--log", str(log), "--policy", str(policy), "--out", str(out),
         "--quarantine", str(q), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["journey"] == "orders" and out.exists() and summary["bytes"] < 20_000_000
    html = tmp_path / "eval.html"
    res = runner.invoke(
        app,
        ["predict", "evaluate", "--log", str(log), "--policy", str(policy), "--json",
         "--quarantine", str(q), "--html", str(html)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result["mae_days"] > 0 and "shipped_within_24h" in result["breach"]
    page = html.read_text()
    assert 'id="mae-by-prefix"' in page and 'class="calibration"' in page


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "policy.yaml")
    res = runner.invoke(
        app, ["predict", "train", "--log", str(tmp_path / "none.csv"), "--policy", str(policy)]
    )
    assert res.exit_code == 2 and "no such file" in res.output
    log = write_log(tmp_path / "few.csv", order_rows(3))
    res = runner.invoke(
        app,
        ["predict", "train", "--log", str(log), "--policy", str(policy),
         "--quarantine", str(tmp_path / "q.jsonl"), "--until", "2026-01-05"],
    )  # fmt: skip
    assert res.exit_code == 2 and "--until" in res.output
    res = runner.invoke(
        app,
        ["predict", "train", "--log", str(log), "--policy", str(policy),
         "--quarantine", str(tmp_path / "q.jsonl")],
    )  # fmt: skip
    assert res.exit_code == 2 and "completed cases to learn from" in res.output
    assert f"{log}: journey" in res.output  # names the file it could not learn from
    assert "Traceback" not in res.output


HEAD = "case:concept:name,concept:name,time:timestamp,org:resource,priority\n"
ALL_BAD = HEAD + "o1,created,yesterday,shop,high\no2,picked,,shop,low\n"  # all quarantined
NO_ROWS = "no events: the file has no rows to read"
REREAD = "check that this is the log you meant, or export it again"
NOTHING = "journey orders: nothing to evaluate: only 0 cases of 3 or more events"
FIX = "give a longer log, or fix its quarantined rows or the journey's 'columns:'/'events:'"


@pytest.mark.parametrize(
    ("text", "extra", "says", "what_to_do"),
    [
        (HEAD, [], NO_ROWS, REREAD),
        (HEAD, ["--allow-quarantine"], NO_ROWS, REREAD),
        (ALL_BAD, [], "no events: every row was quarantined", "'columns:'/'events:'"),
        # judged anyway: was LightGBM's "Check failed: (num_data) > (0)", exit 70
        (ALL_BAD, ["--allow-quarantine"], NOTHING, FIX),
    ],
    ids=[
        "header only",
        "header only, allow quarantine",
        "every row quarantined",
        "every row quarantined, allow quarantine",
    ],
)
def test_evaluate_on_a_log_with_no_events_is_one_error_naming_the_file(
    tmp_path: Path, text: str, extra: list[str], says: str, what_to_do: str
) -> None:
    policy, log, html = (
        write_policy(tmp_path / "p.yaml"),
        tmp_path / "orders.csv",
        tmp_path / "e.html",
    )
    log.write_text(text)
    res = runner.invoke(
        app,
        ["predict", "evaluate", "--log", str(log), "--policy", str(policy), "--json",
         "--html", str(html), "--quarantine", str(tmp_path / "q.jsonl"), *extra],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert res.stdout == "" and not html.exists()
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {log}: {says}"), res.stderr
    assert what_to_do in res.stderr
    assert "Traceback" not in res.output and "unexpected" not in res.output
