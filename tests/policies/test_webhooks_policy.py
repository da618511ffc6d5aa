"""Webhooks in policies: declared under `webhooks:`, named by levels as `webhook:NAME`,
checked like every other reference (file, line, field, what to do)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalator.policies.errors import PolicyError
from escalator.policies.loader import load_policies
from escalator.policies.snapshot import snapshot
from escalator.workflows.targets import quiet_channels, role_targets

EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"

HOOKS = """\
webhooks:
  - name: ticketing
    url: https://tickets.example/hooks/escalator
    secret: tickets
escalation_policies:
  - name: hooked
    levels:
      - {role: inventory, channels: [slack, webhook:ticketing], response_time: 30m}
      - {role: incident-leads, channels: [%s], response_time: 1h}
rules:
  - name: hooked_volume
    kind: volume
    journey: orderToShip
    hypothesis: Label print failures above 3x their usual rate mean a printer outage.
    events: [label_print_failed]
    window: 1h
    factor: 3
    direction: spike
    baseline: same_hour_of_week
    baseline_periods: 4
    min_count: 5
    owner: inventory
    escalation: hooked
    severity: high
    runbook: docs/runbooks/label-print-failed.md
    predicts:
      description: orders of the window do not ship within 24 h
      not_reached: order_shipped
      within: 24h
"""


def _load(tmp_path: Path, second_level: str) -> object:
    shutil.copytree(EXAMPLES, tmp_path / "starter")
    (tmp_path / "hooks.yaml").write_text(HOOKS % second_level, encoding="utf-8")
    return load_policies([tmp_path / "starter", tmp_path / "hooks.yaml"])


def test_a_level_names_a_declared_webhook(tmp_path: Path) -> None:
    policies = _load(tmp_path, "sms")
    from escalator.policies.policy_set import PolicySet

    assert isinstance(policies, PolicySet)
    assert policies.webhook("ticketing").secret_ref == "tickets"
    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    policy = snapshot(policies, "hooked_volume", at)
    level = policy.escalation.levels[0]
    targets, skipped = role_targets(policy, "inventory", level.channels, at)
    assert [(t.channel, t.target) for t in targets] == [
        ("slack", "#ops-inventory"),
        ("webhook", "ticketing"),
    ]
    assert skipped == []
    # A notification (not a page) keeps the webhook: it pages nobody.
    assert quiet_channels(["sms", "webhook:ticketing"]) == ["webhook:ticketing"]


def test_an_unknown_webhook_is_reported_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, "slack, webhook:tickting")
    [problem] = info.value.problems
    assert problem.file == str(tmp_path / "hooks.yaml")
    assert problem.line == 9
    assert problem.message.startswith(
        "unknown webhook 'tickting' (did you mean 'ticketing'?); expected one of: ticketing"
    )


def test_a_bare_webhook_channel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, "webhook")
    assert any(p.line == 9 and "channels" in (p.path or "") for p in info.value.problems), str(
        info.value
    )
