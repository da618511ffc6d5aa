"""`escalator suggest` as a user runs it: its output beside the policy passes `policy check`
(the real CLI, in a subprocess) and its rules fire in a backtest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detectors"))
from event_logs import POLICIES, log_path
from test_detect_cli import POLICY

from escalator.cli.main import app


def _escalator(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ESCALATOR_STATE_DIR": str(cwd / "state")}
    return subprocess.run(
        [sys.executable, "-m", "escalator.cli.main", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=600, check=False,
    )  # fmt: skip


def test_suggested_rules_pass_policy_check_and_fire(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES / "bpic2012", policies)
    log = str(log_path("bpic2012"))
    out = policies / "proposed.yaml"  # among the policies the command reads
    res = _escalator(
        "suggest", "--log", log, "--policy", str(policies), "--out", str(out), cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and "wrote the proposed rules to" in res.stderr
    res.stdout = out.read_text()
    check = _escalator("policy", "check", str(policies), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    proposed = YAML(typ="safe").load(res.stdout)["rules"]
    kinds = {r["kind"] for r in proposed}
    assert {"latency", "conformance", "volume"} <= kinds
    assert any(r["name"].startswith("suggested_pattern_") for r in proposed)
    # every rule carries its evidence and its backtested scorecard as comments
    assert res.stdout.count("# backtest: ") == len(proposed)
    assert "stays, median" in res.stdout and "most frequent variants cover" in res.stdout
    backtest = _escalator(
        "detect", "--backtest", "--json", "--log", log, "--policy", str(policies), cwd=tmp_path
    )
    assert backtest.returncode == 0, backtest.stderr
    fired = json.loads(backtest.stdout)["by_rule"]
    suggested = {r["name"]: fired[r["name"]] for r in proposed}
    assert all(n > 0 for n in suggested.values()), suggested


def test_coverage_sets_the_reference_model(tmp_path: Path) -> None:
    log = str(log_path("bpic2012"))
    policy = str(POLICIES / "bpic2012")
    pairs = []
    for coverage in ("0.3", "0.95"):
        res = _escalator(
            "suggest", "--log", log, "--policy", policy, "--coverage", coverage, cwd=tmp_path
        )
        assert res.returncode == 0, res.stderr
        [model] = [
            r for r in YAML(typ="safe").load(res.stdout)["rules"]
            if r["name"] == "suggested_path_deviation"
        ]  # fmt: skip
        pairs.append(sum(len(v) for v in model["allowed_transitions"].values()))
    assert pairs[0] < pairs[1]


HEAD = "case:concept:name,concept:name,time:timestamp\n"
ALL_BAD = HEAD + "o1,created,yesterday\no2,paid,\n"  # every row quarantined
NO_ROWS = "no events: the file has no rows to read"
REREAD = "check that this is the log you meant, or export it again"
FIX = "fix the log or its journey's 'columns:'/'events:'"


@pytest.mark.parametrize(
    ("text", "extra", "says", "what_to_do"),
    [
        (HEAD, [], NO_ROWS, REREAD),
        (HEAD, ["--allow-quarantine"], NO_ROWS, REREAD),
        (ALL_BAD, [], "no events: every row was quarantined", FIX),
        # judged anyway, but nothing is left to mine (the line did not name the file)
        (ALL_BAD, ["--allow-quarantine"], "no events to mine", FIX),
    ],
    ids=[
        "header only",
        "header only, allow quarantine",
        "every row quarantined",
        "every row quarantined, allow quarantine",
    ],
)
def test_a_log_with_no_events_is_one_error_naming_the_file(
    tmp_path: Path, text: str, extra: list[str], says: str, what_to_do: str
) -> None:
    policy, log, out = tmp_path / "p.yaml", tmp_path / "orders.csv", tmp_path / "proposed.yaml"
    policy.write_text(POLICY)
    log.write_text(text)
    res = CliRunner().invoke(
        app,
        ["suggest", "--log", str(log), "--policy", str(policy), "--out", str(out),
         "--quarantine", str(tmp_path / "q.jsonl"), *extra],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert res.stdout == "" and not out.exists()
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {log}: {says}"), res.stderr
    assert what_to_do in res.stderr.lower()
    assert "Traceback" not in res.output and "unexpected" not in res.output
