"""Heartbeats in policies: their rule and calendar are references, checked with file and line."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from escalator.policies.errors import PolicyError
from escalator.policies.loader import load_policies

EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"


def _load(tmp_path: Path, body: str) -> object:
    shutil.copytree(EXAMPLES, tmp_path / "starter")
    (tmp_path / "beats.yaml").write_text(body, encoding="utf-8")
    return load_policies([tmp_path / "starter", tmp_path / "beats.yaml"])


def test_a_heartbeat_names_a_rule_and_a_calendar(tmp_path: Path) -> None:
    policies = _load(
        tmp_path,
        "heartbeats:\n  - name: nightly-export\n    every: 26h\n"
        "    rule: label_print_failed\n    calendar: nl-warehouse\n",
    )
    from escalator.policies.policy_set import PolicySet

    assert isinstance(policies, PolicySet)
    beat = policies.heartbeat("nightly-export")
    assert beat.every == timedelta(hours=26) and beat.calendar == "nl-warehouse"


def test_unknown_rule_and_calendar_are_reported_at_their_lines(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        _load(
            tmp_path,
            "heartbeats:\n  - name: nightly-export\n    every: 26h\n"
            "    rule: label_print_faild\n    calendar: nowhere\n",
        )
    found = {(p.line, p.message.split(";")[0]) for p in info.value.problems}
    assert (4, "unknown rule 'label_print_faild' (did you mean 'label_print_failed'?)") in found
    assert any(line == 5 and msg.startswith("unknown calendar 'nowhere'") for line, msg in found)
