"""The shipped starter policy set (journeys orderToShip and ticketToResolution) loads and is complete."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from escalator.policies.errors import PolicyError
from escalator.policies.journeys import LatencySLI
from escalator.policies.loader import load, load_policies
from escalator.policies.rules import LatencyRule, PredictedBreachRule, VolumeRule
from escalator.policy_source import load_configured_policies
from escalator.settings import SHIPPED_POLICY_DIR

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "escalator" / "policies" / "examples"


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
        "predicted_breach",
    }
    predicted = p.rule("order_predicted_late")
    assert isinstance(predicted, PredictedBreachRule)
    assert (predicted.sli, predicted.risk_threshold, predicted.owner) == (
        "shipped_within_24h",
        0.9,
        "inventory",
    )
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


def test_rotation_hands_off_at_the_same_wall_clock_time_across_dst() -> None:
    """The shipped inventory rotation hands off Mondays at 09:00 Amsterdam time, CET or CEST;
    without a time zone it would hand off at 10:00 in summer (every 7 x 24 h from 08:00 UTC)."""
    from datetime import datetime

    inventory = load_policies([SHIPPED_POLICY_DIR]).role("inventory")
    assert inventory.rotation is not None and inventory.rotation.timezone == "Europe/Amsterdam"
    # Monday 6 April 2026 is week 13 (summer time since 29 March): 13 % 3 = 1, bram's week.
    before = datetime.fromisoformat("2026-04-06T08:59:00+02:00")
    after = datetime.fromisoformat("2026-04-06T09:01:00+02:00")
    assert (inventory.on_call(before).name, inventory.on_call(after).name) == ("anna", "bram")
    fixed = inventory.model_copy(
        update={"rotation": inventory.rotation.model_copy(update={"timezone": None})}
    )
    assert fixed.on_call(after).name == "anna"  # elapsed time: the hand-off comes at 10:00
    assert fixed.on_call(datetime.fromisoformat("2026-04-06T10:01:00+02:00")).name == "bram"
    # Back in winter time, 26 October 2026 09:01 CET is week 42: 42 % 3 = 0, anna again.
    october = datetime.fromisoformat("2026-10-26T09:01:00+01:00")
    assert inventory.on_call(october).name == "anna"


def test_an_unknown_rotation_time_zone_is_refused(tmp_path: Path) -> None:
    roles = (SHIPPED_POLICY_DIR / "roles.yaml").read_text()
    broken = tmp_path / "policies"
    broken.mkdir()
    for f in SHIPPED_POLICY_DIR.glob("*.yaml"):
        (broken / f.name).write_text(f.read_text())
    (broken / "roles.yaml").write_text(roles.replace("Europe/Amsterdam", "Europe/Amsterdm", 1))
    with pytest.raises(PolicyError) as err:
        load_policies([broken])
    [problem] = err.value.problems
    assert problem.path == "roles[0].rotation.timezone"
    assert "unknown IANA time zone 'Europe/Amsterdm'" in problem.message
