"""`policy check` reports schema problems and cross-check problems in ONE run.

Each case holds two problems of which the second used to appear only after
the first was fixed: the broken item was dropped before the cross-checks ran.
Both must be reported, at their own lines (marked ``#1`` and ``#2``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.policies.errors import PolicyError, Problem
from escalator.policies.loader import load_policies

EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"

RULE = """\
rules:
  - name: new_rule
    kind: latency
    journey: orderToShip
    state: awaiting_inventory
    threshold: 2h
    owner: inventory
    escalation: inventory-escalation
    runbook: docs/runbooks/awaiting-inventory.md
    predicts: {description: late, events: [order_cancelled]}
"""

JOURNEY = """\
journeys:
  - name: strict
    events: [a, b]
    slis:
      - {type: availability, name: s, valid_events: [a], good_events: [b], objective: 99}
rules:
  - name: strict_rule
    kind: latency
    journey: strict
    state: a
    threshold: 2h
    owner: inventory
    escalation: inventory-escalation
    runbook: x.md
    predicts: {description: late, events: [b]}
"""

CASES = {
    "bad threshold and unknown owner": (
        RULE.replace("threshold: 2h", "threshold: soon #1").replace(
            "owner: inventory", "owner: inventry #2"
        ),
        ["rules[0].threshold", "rules[0].owner"],
    ),
    "broken journey still declares the events its rules are checked against": (
        JOURNEY.replace("objective: 99}", "objective: high} #1").replace("state: a", "state: c #2"),
        ["journeys[0].slis[0].objective", "rules[0].state"],
    ),
    "broken level and an unreachable one": (
        "escalation_policies:\n  - name: p\n    levels:\n"
        "      - {role: inventory, channels: [slack], response_time: soon} #1\n"
        "      - {role: inventory, channels: [slack], response_time: 1h} #2\n",
        ["escalation_policies[0].levels[0].response_time", "escalation_policies[0].levels[1]"],
    ),
    "broken SLI next to one no default tier can serve": (
        JOURNEY.replace("  - name: strict\n", "  - name: strict #2\n").replace(
            "objective: 99}",
            "objective: 90}\n      - {type: latency, name: l, start_event: a, end_event: b, "
            "threshold: 1 day, objective: 99} #1",
        ),
        ["journeys[0].slis[1].threshold", "journeys[0].routing"],
    ),
    "broken rule with the name of another": (
        RULE.replace("name: new_rule", "name: awaiting_inventory #1").replace(
            "kind: latency", "kind: latency\n    severity: urgent #2"
        ),
        ["rules[0].name", "rules[0].severity"],
    ),
}


def _lines(text: str) -> dict[str, int]:
    return {
        mark: n
        for n, line in enumerate(text.splitlines(), start=1)
        for mark in ("#1", "#2")
        if mark in line
    }


def _setup(tmp_path: Path, text: str) -> tuple[Path, Path]:
    starter = tmp_path / "starter"
    shutil.copytree(EXAMPLES, starter)
    case = tmp_path / "case.yaml"
    case.write_text(text, encoding="utf-8")
    return starter, case


def _problems(paths: list[Path]) -> list[Problem]:
    with pytest.raises(PolicyError) as info:
        load_policies(paths)
    return info.value.problems


@pytest.mark.parametrize("name", list(CASES))
def test_both_problems_in_one_run(tmp_path: Path, name: str) -> None:
    text, paths = CASES[name]
    starter, case = _setup(tmp_path, text)
    problems = _problems([starter, case])
    shown = "\n".join(map(str, problems))
    assert {p.file for p in problems} == {str(case)}, shown
    lines = _lines(text)
    got = {(p.line, p.path) for p in problems}
    assert (lines["#1"], paths[0]) in got, shown
    assert (lines["#2"], paths[1]) in got, shown
    result = CliRunner().invoke(app, ["policy", "check", str(starter), str(case)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    printed = [line for line in result.stdout.splitlines() if line]
    assert printed == [str(p) for p in problems]
    assert f"{len(problems)} problems in 1 file(s)" in result.stderr


def test_a_valid_set_is_unchanged_by_salvage(tmp_path: Path) -> None:
    # The starter set still loads, and a fixed case loads with it.
    starter, case = _setup(tmp_path, RULE)
    policies = load_policies([starter, case])
    assert "new_rule" in {r.name for r in policies.rules}
