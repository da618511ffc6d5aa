"""Personal notification rules in the policy: bad steps are problems with their line;
`policy check` warns where a rule asks for a channel no level paging the member allows."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.policies.errors import PolicyError
from escalator.policies.explain import explain
from escalator.policies.loader import load, load_policies
from escalator.policies.notify_checks import notify_rule_warnings
from escalator.policies.reference import SCHEMA_PATH

EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"

CASE = """\
roles:
  - name: night-shift
    slack_channel: "#night-shift"
    members:
      - name: anna
        slack_user_id: U0NIGHT001
        phone: "+31612349901"
        notify:
          page:
            - {channel: slack_dm}
            - {channel: sms, after: 2m}
            - {channel: voice, after: 5m}
          notify:
            - {channel: slack_dm}
      - {name: bram, slack_user_id: U0NIGHT002}
escalation_policies:
  - name: night-escalation
    levels:
      - {role: night-shift, channels: [slack, slack_dm, sms, voice], response_time: 15m}
"""


def _files(tmp_path: Path, text: str) -> list[Path]:
    starter = tmp_path / "starter"
    if not starter.exists():
        shutil.copytree(EXAMPLES, starter)
    case = tmp_path / "case.yaml"
    case.write_text(text, encoding="utf-8")
    return [starter, case]


def _problems(tmp_path: Path, text: str) -> list[str]:
    try:
        load_policies(_files(tmp_path, text))
    except PolicyError as err:
        return [str(p) for p in err.problems]
    return []


def _check(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["policy", "check", *map(str, _files(tmp_path, text))])
    return result.exit_code, result.output.splitlines()


def test_a_rule_within_the_levels_loads_and_checks_clean(tmp_path: Path) -> None:
    assert _problems(tmp_path, CASE) == []
    code, lines = _check(tmp_path, CASE)
    assert code == 0, lines
    assert [line for line in lines if "warning" in line] == []
    anna = load_policies(_files(tmp_path, CASE)).role("night-shift").members[0]
    assert anna.notify is not None
    page = anna.notify.steps("page") or []
    assert [(s.channel, s.after.total_seconds()) for s in page] == [
        ("slack_dm", 0),
        ("sms", 120),
        ("voice", 300),
    ]


def test_the_schema_takes_a_rule() -> None:
    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    doc = YAML(typ="safe").load(CASE)
    jsonschema.validate(doc, schema)
    doc["roles"][0]["members"][0]["notify"]["page"][0]["channel"] = "pager"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            (
                "{channel: slack_dm}\n            - {channel: sms",
                "{channel: slak_dm}\n            - {channel: sms",
            ),
            ":10: roles[0].members[0].notify.page[0].channel:",
            "unknown channel 'slak_dm' for a personal step (did you mean 'slack_dm'?); "
            "expected one of: slack_dm, sms, voice",
        ),
        (
            ("- {channel: slack_dm}\n      - {name", "- {channel: slack}\n      - {name"),
            ":14: roles[0].members[0].notify.notify[0].channel:",
            "unknown channel 'slack' for a personal step ('slack' posts to the role's channel, "
            "which the level does; use slack_dm)",
        ),
        (
            ("{channel: voice, after: 5m}", "{channel: voice, after: 1m}"),
            ":9: roles[0].members[0].notify.page:",
            "steps out of order: step 3 (voice after 1m) comes before step 2 (sms after 2m); "
            "list the steps in the order they go out",
        ),
        (
            ('        phone: "+31612349901"\n', ""),
            ":5: roles[0].members[0]:",
            "notify.page[1]: anna's step 2 (sms after 2m) needs a 'phone' number (E.164), "
            "and anna has none; add it or drop the step",
        ),
        (
            ("{channel: voice, after: 5m}", "{channel: voice, after: 2d}"),
            ":12: roles[0].members[0].notify.page[2].after:",
            "a step after 2d is past the longest of 1d",
        ),
    ],
)
def test_a_bad_step_is_a_problem_at_its_line(
    tmp_path: Path, change: tuple[str, str], where: str, message: str
) -> None:
    assert change[0] in CASE
    problems = _problems(tmp_path, CASE.replace(*change, 1))
    # Without anna's phone, the level's sms and voice reach nobody either: said apart.
    assert [p for p in problems if "notify" in p] == [next(p for p in problems if where in p)]
    assert message in next(p for p in problems if where in p), problems
    code, lines = _check(tmp_path, CASE.replace(*change, 1))
    assert code == 1 and any(message in line for line in lines), lines
    assert not any("Traceback" in line for line in lines)


def test_check_warns_where_no_level_allows_a_step(tmp_path: Path) -> None:
    """Level 1 has no voice and notifications never text: two warnings, and the policies
    still load (the workflow skips those steps and records it)."""
    text = CASE.replace("[slack, slack_dm, sms, voice]", "[slack, slack_dm, sms]").replace(
        "          notify:\n            - {channel: slack_dm}",
        "          notify:\n            - {channel: slack_dm}\n            - {channel: sms, after: 1m}",
    )
    assert _problems(tmp_path, text) == []
    code, lines = _check(tmp_path, text)
    assert code == 0, lines
    warnings = [line for line in lines if "warning:" in line]
    assert len(warnings) == 2, lines
    voice, sms = warnings
    assert ":12: roles[0].members[0].notify.page[2].channel: warning: anna's page step 3 " in voice
    assert "asks for voice, which no level paging role 'night-shift' allows" in voice
    assert "(night-escalation#1: slack, slack_dm, sms)" in voice
    assert "add voice to a level or drop the step" in voice
    assert (
        ":15: roles[0].members[0].notify.notify[1].channel: warning: anna's notify step 2 asks for sms"
        in sms
    )
    assert "a notification rings and texts nobody: use slack_dm or drop the step" in sms
    assert lines[-1].endswith("; 2 warning(s) above")


def test_a_broadcast_counts_as_a_level_paging_the_lead_role(tmp_path: Path) -> None:
    text = CASE.replace("[slack, slack_dm, sms, voice]", "[slack]") + (
        "  - name: other\n"
        "    levels: [{role: inventory, channels: [slack, slack_dm, sms, voice], response_time: 15m}]\n"
        "    incident_lead_role: night-shift\n"
        "    on_exhausted: broadcast\n"
    )
    loaded = load(_files(tmp_path, text))
    warnings = notify_rule_warnings(loaded.policies, loaded.sources["roles"])
    assert [str(w) for w in warnings if "night-shift" in str(w)] == []


def test_explain_shows_the_on_call_members_steps_within_each_level(tmp_path: Path) -> None:
    """Starter policy: level 1 posts to Slack only, level 2 allows slack_dm and sms; chloe
    (on call then) wants a DM, an SMS after 2m and a call after 5m."""
    starter = tmp_path / "starter"
    shutil.copytree(EXAMPLES, starter)
    roles = starter / "roles.yaml"
    rule = "notify: {page: [{channel: slack_dm}, {channel: sms, after: 2m}, {channel: voice, after: 5m}]}"
    chloe = '{name: chloe, slack_user_id: U0INV00003, phone: "+31612340003"}'
    assert chloe in roles.read_text("utf-8")
    roles.write_text(roles.read_text("utf-8").replace(chloe, chloe[:-1] + ", " + rule + "}"))
    result = explain(
        load_policies([starter]),
        "awaiting_inventory",
        datetime.fromisoformat("2026-03-06T10:30:00+01:00"),
    )
    first, second = result.levels[0], result.levels[1]
    assert first.on_call == second.on_call == "chloe"
    assert [(s.channel, s.skipped) for s in first.steps] == [
        ("slack_dm", "the level does not allow slack_dm"),
        ("sms", "the level does not allow sms"),
        ("voice", "the level does not allow voice"),
    ]
    assert [t.channel for t in first.targets] == ["slack"] and not first.console_fallback
    assert [(s.channel, s.address, s.at - second.notify_at, s.skipped) for s in second.steps] == [
        ("slack_dm", "U0INV00003", timedelta(0), None),
        ("sms", "+31******003", timedelta(minutes=2), None),
        ("voice", "+31******003", timedelta(minutes=5), "the level does not allow voice"),
    ]
    assert second.targets == [] and not second.console_fallback  # her steps replace DM and SMS
    out = CliRunner().invoke(
        app,
        [
            "policy",
            "explain",
            "awaiting_inventory",
            "--policy",
            str(starter),
            "--at",
            "2026-03-06T10:30:00+01:00",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    levels = json.loads(out.output)["levels"]
    assert [s["channel"] for s in levels[1]["steps"]] == ["slack_dm", "sms", "voice"]
