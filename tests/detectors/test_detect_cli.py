"""`escalator detect --backtest` and `escalator scorecard`: exit codes and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from event_logs import POLICIES, log_path
from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.detectors.backtest import backtest_models
from escalator.detectors.evaluate import evaluate
from escalator.detectors.readers import read_log
from escalator.policies.loader import load_policies

runner = CliRunner()

POLICY = """
journeys:
  - name: orders
    events: [created, paid, shipped]
    slis:
      - {type: availability, name: shipped, valid_events: [created], good_events: [shipped], objective: 99}
roles:
  - {name: ops, slack_channel: "#ops", members: [{name: ann}]}
escalation_policies:
  - {name: ops-escalation, levels: [{role: ops, response_time: 15m}]}
rules:
  - name: unpaid
    kind: latency
    journey: orders
    owner: ops
    escalation: ops-escalation
    state: created
    threshold: 1h
    predicts: {description: not shipped in a day, not_reached: shipped, within: 1d}
    runbook: https://runbooks.example/unpaid
"""
CSV = """case:concept:name,concept:name,time:timestamp
o1,created,2024-05-06T10:00:00+02:00
o1,paid,2024-05-06T10:30:00+02:00
o2,created,2024-05-06T10:00:00+02:00
o3,created,yesterday
o4,refunded,2024-05-06T10:00:00+02:00
o2,shipped,2024-05-06T12:00:00+02:00
"""


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    log = tmp_path / "orders.csv"
    log.write_text(CSV)
    return policy, log


def test_backtest_json_lists_firings_and_counts_quarantine(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    policy, log = small
    qfile = tmp_path / "q.jsonl"
    res = runner.invoke(
        app,
        [
            "detect",
            "--log",
            str(log),
            "--policy",
            str(policy),
            "--backtest",
            "--json",
            "--quarantine",
            str(qfile),
            "--allow-quarantine",  # 2 of 6 rows: over the 1 % limit, judged anyway
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["quarantined"] == 2 and out["events"] == 4
    [firing] = out["firings"]
    assert firing["subject"] == "o2" and firing["onset"] == "2024-05-06T09:00:00Z"
    assert firing["cleared_at"] == "2024-05-06T10:00:00Z"
    assert firing["dedupe_key"] == "exc:orders:unpaid:o2"
    lines = [json.loads(x) for x in qfile.read_text().splitlines()]
    assert [(x["line"], x["reason"].split(" (")[0]) for x in lines] == [
        (5, "unparsable timestamp in column 'time:timestamp'"),
        (6, "event name not declared in the journey's 'events'"),
    ]


def test_backtest_text_output(small: tuple[Path, Path], tmp_path: Path) -> None:
    policy, log = small
    res = runner.invoke(
        app,
        [
            "detect",
            "--log",
            str(log),
            "--policy",
            str(policy),
            "--backtest",
            "--quarantine",
            str(tmp_path / "q.jsonl"),
            "--max-quarantine",
            "0.5",
        ],
    )
    assert res.exit_code == 0
    assert "unpaid" in res.stdout and "o2" in res.stdout
    assert "2 rows quarantined" in res.stderr
    assert "1 x event name not declared in the journey's 'events' (line 6)" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["detect", "--backtest"], "--backtest needs --log"),
        (["detect", "--backtest", "--watch", "--log", "x.csv"], "exactly one of"),
        (["detect", "--watch"], "--watch needs --source"),
        (["detect", "--backtest", "--log", "missing.csv"], "missing.csv: no such file"),
        (["detect", "--backtest", "--log", "log.txt"], "unknown event-log format"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    small: tuple[Path, Path], args: list[str], message: str
) -> None:
    policy, _ = small
    res = runner.invoke(app, [*args, "--policy", str(policy)])
    assert res.exit_code == 2
    assert message in res.stderr


def test_broken_policy_exits_2_naming_file_and_line(
    tmp_path: Path, small: tuple[Path, Path]
) -> None:
    _, log = small
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY.replace("threshold: 1h", "threshold: soon"))
    res = runner.invoke(app, ["detect", "--log", str(log), "--policy", str(bad), "--backtest"])
    assert res.exit_code == 2
    assert f"{bad}:" in res.stderr and "threshold" in res.stderr


def test_scorecard_json(small: tuple[Path, Path], tmp_path: Path) -> None:
    policy, log = small
    res = runner.invoke(
        app,
        [
            "scorecard",
            "--log",
            str(log),
            "--policy",
            str(policy),
            "--json",
            "--quarantine",
            str(tmp_path / "q.jsonl"),
            "--allow-quarantine",
        ],
    )
    assert res.exit_code == 0, res.output
    [score] = json.loads(res.stdout)["rules"]
    # o2 fired (created 10:00, paid never) and shipped within a day: a false alarm;
    # o1 never shipped but its deadline is after the log ends: censored.
    assert score["rule"] == "unpaid" and score["firings"] == 1
    assert score["precision"] == 0.0 and score["bad_cases"] == 0 and score["recall"] is None


def test_backtest_json_on_helpdesk_matches_the_library(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "detect",
            "--log",
            str(log_path("helpdesk")),
            "--policy",
            str(POLICIES / "helpdesk"),
            "--backtest",
            "--json",
            "--quarantine",
            str(tmp_path / "q.jsonl"),
        ],
    )
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    ps = load_policies([POLICIES / "helpdesk"])
    events = read_log(log_path("helpdesk"), ps.journeys[0]).events
    models = backtest_models(events, ps, ps.journeys[0])  # the predicted_breach rule's
    want = {
        r.rule.name: r.frame.height for r in evaluate(events, ps, ps.journeys[0], models=models)
    }
    assert want["ticket_predicted_late"] > 0  # the learned rule fires, as in the CLI
    assert out["by_rule"] == want
    assert len(out["firings"]) == sum(want.values())
    onsets = [f["onset"] for f in out["firings"]]
    assert onsets == sorted(onsets)
