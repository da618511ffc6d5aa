"""`policy explain` and `policy show`: times below are worked out by hand in the comments."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.policies.explain import ExplainResult, explain, mask_phone
from escalator.policies.loader import load_policies

EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"
AMS = ZoneInfo("Europe/Amsterdam")


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def timeline(result: ExplainResult) -> list[tuple[int, int, str, str, datetime, datetime]]:
    return [
        (lvl.round, lvl.level, lvl.role, lvl.on_call, lvl.notify_at, lvl.escalates_at)
        for lvl in result.levels
    ]


def test_business_hours_across_the_weekend_and_spring_forward() -> None:
    # awaiting_inventory, raised Sat 28 Mar 2026 15:00 CET. Warehouse: Sat 08-16,
    # Mon-Fri 07-22; clocks spring forward on Sun 29 Mar.
    # Playbook: reallocate (automated, up to 2m) -> first page 15:02.
    # L1 inventory 30m business: 15:02 -> 15:32.
    # L2 inventory 30m business: 28m until 16:00, Sunday closed, 2m from Mon 07:00 CEST -> 07:02.
    # L3 incident-leads 1h (plain): 07:02 -> 08:02. repeat 1: 08:02 -> 08:32 -> 09:02 -> 10:02.
    # Rotation: inventory hands over every 7 x 24h from Mon 5 Jan 08:00 UTC; 28 Mar is in
    # week 11 -> chloe (11 % 3 = 2). incident-leads: week 11 -> kim until Mon 30 Mar 08:00 UTC
    # (10:00 CEST), then week 12 -> jan.
    result = explain(load_policies([EXAMPLES]), "awaiting_inventory", ams(2026, 3, 28, 15))
    assert result.routing == "page"
    assert "support hours and silences" in result.routing_note
    assert result.calendar == "nl-warehouse" and result.calendar_open_at_raise is True
    assert [s.name for s in result.playbook_steps] == ["reallocate", "check_stock_location"]
    assert result.first_page_at == ams(2026, 3, 28, 15, 2)
    assert timeline(result) == [
        (1, 1, "inventory", "chloe", ams(2026, 3, 28, 15, 2), ams(2026, 3, 28, 15, 32)),
        (1, 2, "inventory", "chloe", ams(2026, 3, 28, 15, 32), ams(2026, 3, 30, 7, 2)),
        (1, 3, "incident-leads", "kim", ams(2026, 3, 30, 7, 2), ams(2026, 3, 30, 8, 2)),
        (2, 1, "inventory", "chloe", ams(2026, 3, 30, 8, 2), ams(2026, 3, 30, 8, 32)),
        (2, 2, "inventory", "chloe", ams(2026, 3, 30, 8, 32), ams(2026, 3, 30, 9, 2)),
        (2, 3, "incident-leads", "kim", ams(2026, 3, 30, 9, 2), ams(2026, 3, 30, 10, 2)),
    ]
    assert result.levels[1].escalates_at.utcoffset() == timedelta(hours=2)
    assert [(t.channel, t.address) for t in result.levels[1].targets] == [
        ("slack_dm", "U0INV00003"),
        ("sms", "+31******003"),
    ]
    assert result.levels[2].informed == ["inventory"]
    assert result.exhausted_at == ams(2026, 3, 30, 10, 2)
    assert result.on_exhausted == "broadcast"
    assert "on call: jan" in result.exhausted
    assert [(t.channel, t.address) for t in result.broadcast] == [
        ("slack", "#incident-leads"),
        ("sms", "+31******041"),
    ]
    assert result.never_reached == []


def test_holiday_and_plain_response_times() -> None:
    # payment_pending on King's Day (Mon 27 Apr 2026) 10:00 CEST: the journey's warehouse
    # calendar is closed, but billing's levels count plain time.
    # Playbook retry_capture up to 1m -> 10:01; 15m -> 10:16; 15m -> 10:31; 30m -> 11:01.
    result = explain(load_policies([EXAMPLES]), "payment_pending", ams(2026, 4, 27, 10))
    assert result.calendar_open_at_raise is False
    assert [(lvl.level, lvl.role, lvl.notify_at) for lvl in result.levels] == [
        (1, "billing", ams(2026, 4, 27, 10, 1)),
        (2, "billing", ams(2026, 4, 27, 10, 16)),
        (3, "incident-leads", ams(2026, 4, 27, 10, 31)),
    ]
    assert result.exhausted_at == ams(2026, 4, 27, 11, 1)
    assert result.on_exhausted == "flag"
    assert "flagged for incident lead role incident-leads" in result.exhausted


def test_office_hours_across_fall_back() -> None:
    # awaiting_customer raised Fri 23 Oct 2026 16:00 CEST; office Mon-Fri 09:00-17:30;
    # clocks fall back on Sun 25 Oct. Playbook remind_customer up to 5m -> 16:05.
    # L1 support 4h business: 1h25m on Friday, 2h35m from Mon 09:00 CET -> 11:35 CET.
    # L2 incident-leads 4h business: 11:35 -> 15:35 CET.
    result = explain(load_policies([EXAMPLES]), "awaiting_customer", ams(2026, 10, 23, 16))
    assert [(lvl.role, lvl.notify_at, lvl.escalates_at) for lvl in result.levels] == [
        ("support", ams(2026, 10, 23, 16, 5), ams(2026, 10, 26, 11, 35)),
        ("incident-leads", ams(2026, 10, 26, 11, 35), ams(2026, 10, 26, 15, 35)),
    ]
    assert result.levels[0].escalates_at.utcoffset() == timedelta(hours=1)


def test_on_call_member_without_phone_is_never_reached_by_sms(tmp_path: Path) -> None:
    starter = tmp_path / "starter"
    shutil.copytree(EXAMPLES, starter)
    roles = starter / "roles.yaml"
    text = roles.read_text()
    chloe = '{name: chloe, slack_user_id: U0INV00003, phone: "+31612340003"}'
    assert chloe in text
    roles.write_text(text.replace(chloe, "{name: chloe, slack_user_id: U0INV00003}"))
    result = explain(load_policies([starter]), "awaiting_inventory", ams(2026, 3, 28, 15))
    sms = result.levels[1].targets[1]
    assert (sms.channel, sms.reachable, sms.address) == ("sms", False, None)
    assert sms.reason == "chloe (on call) has no phone number"
    assert result.never_reached == [
        "level 2 (inventory) by sms at 2026-03-28 15:32 CET: chloe (on call) has no phone number"
    ]
    # From Mon 30 Mar 10:00 CEST (week 12) anna is on call, and she has a phone.
    later = explain(load_policies([starter]), "awaiting_inventory", ams(2026, 4, 1, 10))
    assert later.levels[1].on_call == "anna" and later.never_reached == []


def test_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        explain(load_policies([EXAMPLES]), "awaiting_inventory", datetime(2026, 3, 28, 15))


def test_mask_phone() -> None:
    assert mask_phone("+31612340001") == "+31******001"
    assert mask_phone("+1234") == "*****"


# --- the CLI ------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.output


def test_explain_command_for_people() -> None:
    code, out, _ = run(
        "policy", "explain", "awaiting_inventory", "--at", "2026-03-28T15:00:00+01:00",
        "--policy", str(EXAMPLES),
    )  # fmt: skip
    assert code == 0, out
    assert "routing: page (the full escalation;" in out
    assert "Sat 2026-03-28 15:02 CET" in out
    assert "Mon 2026-03-30 07:02 CEST" in out
    assert "sms: +31******003 (chloe)" in out
    assert "+31612340003" not in out
    assert "broadcast to incident lead role incident-leads" in out
    assert "never reached: nothing" in out


def test_explain_command_json_and_naive_time_in_calendar_zone() -> None:
    code, out, _ = run(
        "policy", "explain", "awaiting_inventory", "--at", "2026-03-28T15:00", "--json"
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["raised_at"] == "2026-03-28T15:00:00+01:00"
    assert data["routing"] == "page"
    assert data["levels"][1]["escalates_at"] == "2026-03-30T07:02:00+02:00"
    assert data["levels"][0]["response_time"] == "30m"


def test_explain_command_errors_without_traceback() -> None:
    code, _, output = run("policy", "explain", "no_such_rule")
    assert code == 1
    assert "unknown rule 'no_such_rule'; known rules: awaiting_customer" in output
    code, _, output = run("policy", "explain", "awaiting_inventory", "--at", "yesterday")
    assert code == 2
    assert "not an ISO timestamp" in output


def test_show_json() -> None:
    code, out, _ = run("policy", "show", "--json", str(EXAMPLES))
    assert code == 0
    data = json.loads(out)
    assert data["version"] == load_policies([EXAMPLES]).version
    journeys = {j["name"]: j for j in data["journeys"]}
    order = journeys["orderToShip"]
    assert order["window"] == "28d"
    assert {s["name"]: s["objective"] for s in order["slis"]} == {
        "orders_shipped": 99.5,
        "shipped_within_24h": 95,
    }
    assert order["slis"][0]["error_budget"] == 0.5
    # Default routing tiers scaled to 28 days: 2 % of the budget in 1 h = 13.44.
    assert [t["burn_rate"] for t in order["routing"]] == [13.44, 5.6, 0.9333]
    rules = {r["name"]: r for r in data["rules"]}
    assert rules["awaiting_inventory"] == {
        "name": "awaiting_inventory",
        "kind": "latency",
        "journey": "orderToShip",
        "owner": "inventory",
        "escalation": "inventory-escalation",
        "severity": "high",
        "playbook": "inventory-recheck",
        "runbook": "docs/runbooks/awaiting-inventory.md",
    }
    roles = {r["name"]: r for r in data["roles"]}
    assert roles["inventory"]["members"][0] == {
        "name": "anna",
        "slack_user_id": "U0INV00001",
        "phone": "+31******001",
    }
    assert roles["inventory"]["rotation"]["order"] == ["anna", "bram", "chloe"]
    assert "+3161234" not in out  # phone numbers only masked
    calendars = {c["name"]: c for c in data["calendars"]}
    assert calendars["nl-office"]["timezone"] == "Europe/Amsterdam"
    assert calendars["nl-office"]["hours"]["mon"] == ["09:00-17:30"]
    assert calendars["nl-office"]["holidays"]["country"] == "NL"
    assert {p["name"] for p in data["playbooks"]} >= {"inventory-recheck", "label-printer"}
    assert len(data["escalation_policies"]) == 4


def test_show_and_check_for_people() -> None:
    code, out, _ = run("policy", "show")
    assert code == 0
    for word in (
        "orderToShip",
        "awaiting_inventory",
        "incident-leads",
        "nl-warehouse",
        "label-printer",
    ):
        assert word in out
    code, out, _ = run("policy", "check")
    assert code == 0
    assert out.startswith("ok: 6 file(s), 2 journeys, 8 rules")
    assert len(out.strip().splitlines()) == 1
