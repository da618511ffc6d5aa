"""`policy check` on schedules: gaps and members a level cannot reach are problems."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.policies.errors import PolicyError
from escalator.policies.loader import load_policies

EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"

ROLE = """\
roles:
  - name: night-shift
    slack_channel: "#night-shift"
    members:
      - {name: anna, slack_user_id: U0NIGHT001, phone: "+31612349901"}
      - {name: bram, slack_user_id: U0NIGHT002}
      - {name: chloe, phone: "+31612349903"}
    schedule:
      layers:
        - name: nights
          order: [bram]
          start: 2026-01-05T17:00:00
          timezone: Europe/Amsterdam
          handoff_every: 1d
          windows: [{hours: "00:00-24:00"}]
        - name: business
          order: [anna, chloe]
          start: 2026-01-05T09:00:00
          timezone: Europe/Amsterdam
          windows: [{days: [mon, tue, wed, thu, fri], hours: "09:00-17:00"}]
escalation_policies:
  - name: night-escalation
    levels:
      - {role: night-shift, channels: [slack], response_time: 15m}
      - {role: night-shift, channels: [sms], response_time: 15m}
"""


def _check(tmp_path: Path, text: str) -> list[str]:
    starter = tmp_path / "starter"
    shutil.copytree(EXAMPLES, starter)
    case = tmp_path / "case.yaml"
    case.write_text(text, encoding="utf-8")
    try:
        load_policies([starter, case])
    except PolicyError as err:
        return [str(p) for p in err.problems]
    return []


def test_a_member_without_a_phone_on_an_sms_level_is_named(tmp_path: Path) -> None:
    problems = _check(tmp_path, ROLE)
    assert len(problems) == 1, problems
    assert "escalation_policies[0].levels[1].channels[0]" in problems[0]
    assert "misses bram of role 'night-shift'" in problems[0]
    assert "phone" in problems[0]


def test_a_gap_is_reported_with_when_it_happens(tmp_path: Path) -> None:
    text = ROLE.replace('"00:00-24:00"', '"17:00-23:00"').replace(
        "channels: [sms]", "channels: [slack_dm]"
    )
    problems = _check(tmp_path, text)
    assert len(problems) == 2, problems
    gap = next(p for p in problems if "schedule" in p)
    assert ":8: roles[0].schedule: nobody is on call in role 'night-shift' from " in gap
    assert "23:00 until " in gap and "09:00 Europe/Amsterdam" in gap
    assert "allow_gaps: true" in gap
    dm = next(p for p in problems if "channels[0]" in p)
    assert "misses chloe" in dm and "slack_user_id" in dm


def test_declared_gaps_and_full_contacts_load(tmp_path: Path) -> None:
    text = (
        ROLE.replace('"00:00-24:00"', '"17:00-23:00"')
        .replace("    schedule:\n", "    schedule:\n      allow_gaps: true\n")
        .replace("U0NIGHT002}", 'U0NIGHT002, phone: "+31612349902"}')
    )
    assert _check(tmp_path, text) == []
    result = CliRunner().invoke(
        app, ["policy", "check", str(tmp_path / "starter"), str(tmp_path / "case.yaml")]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("timezone: Europe/Amsterdam", "timezone: Europe/Amsterdm"), "unknown IANA time zone"),
        (('hours: "09:00-17:00"', 'hours: "9-17"'), "hours"),
        (("order: [bram]", "order: [zoe]"), "schedule names zoe who are not members"),
    ],
)
def test_bad_schedule_fields_name_the_line(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    problems = _check(tmp_path, ROLE.replace(*change, 1))
    assert any(message in p for p in problems), problems
    assert all("Traceback" not in p for p in problems)
