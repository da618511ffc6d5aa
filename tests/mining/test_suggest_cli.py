"""`escalator suggest` as a user runs it: its output beside the policy passes `policy check`
(the real CLI, in a subprocess) and its rules fire in a backtest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from event_logs import POLICIES, log_path


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
