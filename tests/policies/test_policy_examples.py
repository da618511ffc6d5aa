"""The shipped starter policy set (DESIGN.md's starter template) loads and is complete."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policies.journeys import LatencySLI
from policies.loader import load, load_policies
from policies.rules import LatencyRule, VolumeRule
from workers.policy_source import load_configured_policies

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "policies" / "examples"


def test_starter_set_loads_from_several_files() -> None:
    loaded = load([EXAMPLES])
    assert len(loaded.files) >= 5
    names = {Path(f).name for f in loaded.files}
    assert {
        "journeys.yaml",
        "roles.yaml",
        "escalation.yaml",
        "playbooks.yaml",
        "calendars.yaml",
    } <= names


def test_starter_template_content() -> None:
    p = load_policies([EXAMPLES])
    order = p.journey("orderToShip")
    assert order.window.days == 28
    assert {s.type for s in order.slis} == {"availability", "latency"}
    assert next(s for s in order.slis if s.type == "availability").objective == 99.5
    latency = next(s for s in order.slis if isinstance(s, LatencySLI))
    assert latency.threshold.total_seconds() == 24 * 3600

    inv = p.rule("awaiting_inventory")
    assert isinstance(inv, LatencyRule)
    assert (inv.threshold.total_seconds(), inv.business_hours, inv.owner) == (
        7200,
        True,
        "inventory",
    )
    pay = p.rule("payment_pending")
    assert isinstance(pay, LatencyRule)
    assert (pay.threshold.total_seconds(), pay.owner) == (900, "billing")
    label = p.rule("label_print_failed")
    assert isinstance(label, VolumeRule)
    assert (label.factor, label.owner) == (3, "it-ops")

    tickets = p.journey("ticketToResolution")
    sla = next(s for s in tickets.slis if isinstance(s, LatencySLI))
    assert sla.threshold_attribute == "severity" and sla.thresholds
    stuck = p.rule("awaiting_customer")
    assert isinstance(stuck, LatencyRule)
    assert stuck.state == "awaiting_customer" and stuck.threshold.total_seconds() == 48 * 3600

    assert {r.kind for r in p.rules if r.journey == "orderToShip"} == {
        "latency",
        "quality",
        "completeness",
        "conformance",
        "volume",
    }
    assert p.role("incident-leads")
    assert any(r.rotation for r in p.roles)
    assert any("sms" in lvl.channels for e in p.escalation_policies for lvl in e.levels)
    assert all(2 <= len(e.levels) <= 3 for e in p.escalation_policies)
    for playbook in p.playbooks:
        kinds = {s.type for s in playbook.steps}
        assert kinds == {"automated", "manual"}
        assert all(s.recheck for s in playbook.steps if s.type == "automated")


def test_every_rule_links_a_runbook_that_exists() -> None:
    p = load_policies([EXAMPLES])
    links = [r.runbook for r in p.rules]
    links += [s.runbook for pb in p.playbooks for s in pb.steps if s.runbook]
    for link in links:
        assert link is not None
        assert (REPO / link).is_file(), f"runbook {link} is missing"


def test_version_hash_is_stable_and_content_addressed(tmp_path: Path) -> None:
    first = load_policies([EXAMPLES]).version
    assert first == load_policies([EXAMPLES]).version
    # The same files elsewhere give the same version: paths are not part of it.
    copy = tmp_path / "copy"
    shutil.copytree(EXAMPLES, copy)
    assert load_policies([copy]).version == first
    # Any change to the content changes it.
    roles = copy / "roles.yaml"
    roles.write_text(roles.read_text().replace("+31612340001", "+31612340009"))
    assert load_policies([copy]).version != first
    assert len(first) == 12


def test_default_policies_follow_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_configured_policies().version == load_policies([EXAMPLES]).version
    only = tmp_path / "p"
    shutil.copytree(EXAMPLES, only)
    monkeypatch.setenv("ESCALATOR_POLICY_DIR", str(only))
    assert load_configured_policies().version == load_policies([EXAMPLES]).version
