"""Malformed policies: every problem is reported as FILE:LINE: field.path: message.

Each case is a YAML text; the line the problem must point at is marked with a
``#<`` comment. Cases marked ``with_starter`` are loaded next to a copy of the
shipped starter set, so they can reference (or collide with) its names. Every
case also runs through ``escalator policy check``: exit 1, the same line, no
traceback.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalator.cli.main import app
from escalator.policies.errors import FILE_LEVEL, PolicyError, Problem
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

ESCALATION = """\
escalation_policies:
  - name: new-policy
    levels:
      - {role: inventory, channels: [slack], response_time: 15m}
"""


@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes
    path: str  # the dotted field path, "(file)" for whole-file problems
    fragment: str  # part of the message
    with_starter: bool = False

    @property
    def line(self) -> int:
        if isinstance(self.text, bytes):
            return 1
        for number, line in enumerate(self.text.splitlines(), start=1):
            if "#<" in line:
                return number
        return 1


def rule_with(old: str, new: str) -> str:
    assert old in RULE
    return RULE.replace(old, new)


CASES = [
    # --- the file itself ---
    Case("empty file", "", "(file)", "the file is empty"),
    Case("only comments", "# nothing here yet\n---\n", "(file)", "the file is empty"),
    Case(
        "invalid yaml",
        "rules:\n  - name: a: b #<\n",
        "(file)",
        "invalid YAML: mapping values are not allowed here",
    ),
    Case("tab indentation", "rules:\n\t- name: x #<\n", "(file)", "invalid YAML"),
    Case("duplicate key", "rules: []\nroles: []\nrules: [] #<\n", "(file)", "duplicate key"),
    Case("top-level list", "- journeys #<\n- rules\n", "(file)", "got a list"),
    Case("top-level text", "# a comment\n---\njust words #<\n", "(file)", "got the text"),
    Case("not utf-8", b"rules:\n  - name: caf\xe9\n", "(file)", "not UTF-8"),
    Case(
        "unknown top-level key",
        "rule: [] #<\n",
        "rule",
        "unknown key 'rule' (did you mean 'rules'?)",
    ),
    Case("section not a list", "roles: #<\n  name: x\n", "roles", "expected a list of roles"),
    # --- rules ---
    Case(
        "rule without kind",
        "rules:\n  - name: x #<\n    journey: j\n",
        "rules[0]",
        "'kind' is missing",
    ),
    Case(
        "rule of unknown kind",
        rule_with("kind: latency", "kind: lateny #<"),
        "rules[0].kind",
        "unknown 'kind' 'lateny'",
    ),
    Case(
        "duration in words",
        rule_with("threshold: 2h", "threshold: 2 hours #<"),
        "rules[0].threshold",
        "expected a duration such as '15m'",
    ),
    Case(
        "bare number as duration",
        rule_with("threshold: 2h", "threshold: 15 #<"),
        "rules[0].threshold",
        "got 15",
    ),
    Case(
        "misspelt key",
        rule_with("threshold: 2h", "thresold: 2h #<"),
        "rules[0].thresold",
        "did you mean 'threshold'?",
    ),
    Case(
        "missing runbook",
        rule_with("  - name: new_rule", "  - name: new_rule #<").replace(
            "    runbook: docs/runbooks/awaiting-inventory.md\n", ""
        ),
        "rules[0].runbook",
        "required field 'runbook' is missing",
    ),
    Case(
        "unknown severity",
        rule_with("    owner: inventory\n", "    owner: inventory\n    severity: urgent #<\n"),
        "rules[0].severity",
        "expected 'critical', 'high', 'medium' or 'low', got 'urgent'",
    ),
    Case(
        "outcome that cannot be tested",
        rule_with(
            "predicts: {description: late, events: [order_cancelled]}",
            "predicts: {description: late} #<",
        ),
        "rules[0].predicts",
        "needs 'events' or 'not_reached'",
    ),
    Case(
        "conformance rule with nothing to check",
        "rules:\n  - kind: conformance #<\n    name: c\n    journey: j\n    owner: r\n"
        "    escalation: e\n    runbook: x.md\n    predicts: {description: d, events: [e]}\n",
        "rules[0]",
        "needs 'allowed_transitions', 'precedence' or 'response'",
    ),
    Case(
        "quality threshold as a percentage",
        "rules:\n  - kind: quality\n    name: q\n    journey: j\n    owner: r\n    escalation: e\n"
        "    runbook: x.md\n    predicts: {description: d, events: [e]}\n"
        "    defect_events: [bad]\n    window: 1h\n    threshold: 5 #<\n",
        "rules[0].threshold",
        "less than 1",
    ),
    Case(
        "name that is not a name",
        rule_with("name: new_rule", "name: 9 lives #<"),
        "rules[0].name",
        "a name that starts with a letter",
    ),
    # --- roles ---
    Case(
        "phone not E.164",
        "roles:\n  - name: r\n    members:\n      - name: a\n        phone: 0612345678 #<\n",
        "roles[0].members[0].phone",
        "got the number 612345678; put it in quotes",
    ),
    Case(
        "slack user id of the wrong shape",
        "roles:\n  - name: r\n    members:\n      - {name: a, slack_user_id: anna} #<\n",
        "roles[0].members[0].slack_user_id",
        "a Slack user id",
    ),
    Case(
        "role without members",
        "roles:\n  - name: r\n    members: [] #<\n",
        "roles[0].members",
        "at least 1 item",
    ),
    Case(
        "rotation start without offset",
        "roles:\n  - name: r\n    members: [{name: a}]\n    rotation:\n"
        "      start: 2026-01-05T09:00:00 #<\n      order: [a]\n",
        "roles[0].rotation.start",
        "needs a UTC offset",
    ),
    Case(
        "rotation of a stranger",
        "roles:\n  - name: r #<\n    members: [{name: a}]\n    rotation:\n"
        "      start: 2026-01-05T09:00:00+01:00\n      order: [a, zed]\n",
        "roles[0]",
        "rotation names zed who are not members",
    ),
    # --- calendars ---
    Case(
        "unknown time zone",
        "calendars:\n  - name: c\n    timezone: Europe/Amsterdm #<\n    hours: {mon: '09:00-17:00'}\n",
        "calendars[0].timezone",
        "unknown IANA time zone",
    ),
    Case(
        "hours not a range",
        "calendars:\n  - name: c\n    timezone: UTC\n    hours: #<\n      mon: 9-17\n",
        "calendars[0].hours",
        "expected a range such as '09:00-17:00'",
    ),
    Case(
        "range ends before it starts",
        "calendars:\n  - name: c\n    timezone: UTC\n    hours: {mon: '17:00-09:00'} #<\n",
        "calendars[0].hours",
        "ends before it starts",
    ),
    Case(
        "weekday spelt out",
        "calendars:\n  - name: c\n    timezone: UTC\n    hours:\n      monday: '09:00-17:00' #<\n",
        "calendars[0].hours.monday",
        "expected 'mon'",
    ),
    # --- journeys ---
    Case(
        "objective of 100 %",
        "journeys:\n  - name: j\n    slis:\n      - type: availability\n        name: s\n"
        "        valid_events: [a]\n        good_events: [b]\n        objective: 100 #<\n",
        "journeys[0].slis[0].objective",
        "less than 100",
    ),
    Case(
        "objective in words",
        "journeys:\n  - name: j\n    slis:\n      - type: availability\n        name: s\n"
        "        valid_events: [a]\n        good_events: [b]\n        objective: high #<\n",
        "journeys[0].slis[0].objective",
        "valid number",
    ),
    Case(
        "SLI of unknown type",
        "journeys:\n  - name: j\n    slis:\n      - type: speed #<\n        name: s\n",
        "journeys[0].slis[0].type",
        "unknown 'type' 'speed'",
    ),
    Case(
        "journey without SLIs",
        "journeys:\n  - name: j\n    slis: [] #<\n",
        "journeys[0].slis",
        "at least 1 item",
    ),
    Case(
        "routing tier with two thresholds",
        "journeys:\n  - name: j\n    slis: [{type: availability, name: s, valid_events: [a], "
        "good_events: [b], objective: 99}]\n    routing:\n"
        "      - {long_window: 1h, short_window: 5m, burn_rate: 14, budget_fraction: 0.02, action: page} #<\n",
        "journeys[0].routing[0]",
        "exactly one of 'burn_rate' or 'budget_fraction'",
    ),
    # --- playbooks and escalation ---
    Case(
        "automated step without action",
        "playbooks:\n  - name: p\n    steps:\n      - {name: s, type: automated} #<\n",
        "playbooks[0].steps[0]",
        "needs an 'action'",
    ),
    Case(
        "repeat out of range",
        ESCALATION + "    repeat: 11 #<\n",
        "escalation_policies[0].repeat",
        "less than or equal to 10",
    ),
    Case(
        "unknown channel",
        ESCALATION.replace("channels: [slack]", "channels: [email]").replace("15m}", "15m} #<"),
        "escalation_policies[0].levels[0].channels[0]",
        "expected 'slack', 'slack_dm', 'sms', 'voice' or 'console', got 'email'",
    ),
    # --- cross-checks, next to the starter set ---
    Case(
        "unknown owner role",
        rule_with("owner: inventory", "owner: inventry #<"),
        "rules[0].owner",
        "unknown role 'inventry' (did you mean 'inventory'?)",
        with_starter=True,
    ),
    Case(
        "unknown escalation policy",
        rule_with("escalation: inventory-escalation", "escalation: nobody #<"),
        "rules[0].escalation",
        "unknown escalation policy 'nobody'",
        with_starter=True,
    ),
    Case(
        "unknown playbook",
        rule_with("    owner: inventory\n", "    owner: inventory\n    playbook: magic #<\n"),
        "rules[0].playbook",
        "unknown playbook 'magic'",
        with_starter=True,
    ),
    Case(
        "unknown calendar",
        rule_with("    owner: inventory\n", "    owner: inventory\n    calendar: mars #<\n"),
        "rules[0].calendar",
        "unknown calendar 'mars'",
        with_starter=True,
    ),
    Case(
        "unknown journey",
        rule_with("journey: orderToShip", "journey: orderToShipp #<"),
        "rules[0].journey",
        "unknown journey 'orderToShipp'",
        with_starter=True,
    ),
    Case(
        "unknown level role",
        ESCALATION.replace("{role: inventory,", "{role: warehouse,").replace("15m}", "15m} #<"),
        "escalation_policies[0].levels[0].role",
        "unknown role 'warehouse'",
        with_starter=True,
    ),
    Case(
        "unknown incident lead role",
        ESCALATION + "    incident_lead_role: bosses #<\n",
        "escalation_policies[0].incident_lead_role",
        "unknown role 'bosses'",
        with_starter=True,
    ),
    Case(
        "duplicate rule name",
        rule_with("name: new_rule", "name: awaiting_inventory #<"),
        "rules[0].name",
        "duplicate rule name 'awaiting_inventory', first defined at",
        with_starter=True,
    ),
    Case(
        "empty escalation policy",
        "escalation_policies:\n  - name: nobody\n    levels: [] #<\n",
        "escalation_policies[0].levels",
        "no levels never notifies anyone",
        with_starter=True,
    ),
    Case(
        "unreachable level",
        ESCALATION + "      - {role: inventory, channels: [slack], response_time: 15m} #<\n",
        "escalation_policies[0].levels[1]",
        "level 2 is unreachable: level 1 already notified role 'inventory' on slack",
        with_starter=True,
    ),
    Case(
        "sms to a role without phones",
        "roles:\n  - name: quiet\n    slack_channel: '#quiet'\n    members: [{name: q}]\n"
        "escalation_policies:\n  - name: quiet-policy\n    levels:\n"
        "      - role: quiet\n        response_time: 15m\n        channels:\n"
        "          - sms #<\n",
        "escalation_policies[0].levels[0].channels[0]",
        "channel 'sms' reaches nobody in role 'quiet': no member has a phone number",
        with_starter=True,
    ),
    Case(
        "burn-rate tier that can never fire",
        "journeys:\n  - name: lenient\n    slis: [{type: availability, name: s, valid_events: [a], "
        "good_events: [b], objective: 90}]\n    routing:\n"
        "      - {long_window: 1h, short_window: 5m, burn_rate: 14.4, action: page} #<\n",
        "journeys[0].routing[0].burn_rate",
        "can never fire for SLI 's': at objective 90 % the highest possible burn rate is 10",
        with_starter=True,
    ),
    Case(
        "default tiers that can never fire",
        "journeys:\n  - name: lenient #<\n    slis: [{type: availability, name: s, valid_events: [a], "
        "good_events: [b], objective: 90}]\n",
        "journeys[0].routing",
        "default tier 1 (page, burn rate 13.44 over 1h) can never fire",
        with_starter=True,
    ),
    Case(
        "response time longer than the SLO window",
        rule_with("escalation: inventory-escalation", "escalation: new-policy")
        + ESCALATION.replace("response_time: 15m}", "response_time: 30d} #<"),
        "escalation_policies[0].levels[0].response_time",
        "response time 30d is longer than the 28d SLO window of journey 'orderToShip'",
        with_starter=True,
    ),
    Case(
        "time to restore longer than the SLO window",
        rule_with("escalation: inventory-escalation", "escalation: new-policy")
        + ESCALATION
        + "    time_to_restore: 5w #<\n",
        "escalation_policies[0].time_to_restore",
        "time_to_restore 35d is longer than the 28d SLO window",
        with_starter=True,
    ),
    Case(
        "snooze bound longer than the SLO window",
        rule_with("escalation: inventory-escalation", "escalation: new-policy")
        + ESCALATION
        + "    max_snooze: 60d #<\n",
        "escalation_policies[0].max_snooze",
        "max_snooze 60d is longer than the 28d SLO window",
        with_starter=True,
    ),
    Case(
        "state that is not a journey event",
        rule_with("state: awaiting_inventory", "state: awaiting_stock #<"),
        "rules[0].state",
        "event 'awaiting_stock' is not among the events declared by journey 'orderToShip'",
        with_starter=True,
    ),
    Case(
        "business hours without a calendar",
        "rules:\n  - name: r2\n    kind: latency\n    journey: ticketless\n    state: s\n"
        "    threshold: 2h\n    business_hours: true #<\n    owner: inventory\n"
        "    escalation: billing-escalation\n    runbook: x.md\n"
        "    predicts: {description: d, events: [e]}\n"
        "journeys:\n  - name: ticketless\n    slis: [{type: availability, name: s, "
        "valid_events: [a], good_events: [b], objective: 99}]\n",
        "rules[0].business_hours",
        "business_hours is true but no calendar applies",
        with_starter=True,
    ),
]


def test_there_are_at_least_25_distinct_cases() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 25
    assert len({c.text for c in CASES}) == len(CASES)


def _write(tmp_path: Path, case: Case) -> tuple[list[Path], Path]:
    target = tmp_path / "case.yaml"
    if isinstance(case.text, bytes):
        target.write_bytes(case.text)
    else:
        target.write_text(case.text, encoding="utf-8")
    paths = [target]
    if case.with_starter:
        starter = tmp_path / "starter"
        shutil.copytree(EXAMPLES, starter)
        paths.insert(0, starter)
    return paths, target


def _problems(paths: list[Path]) -> list[Problem]:
    with pytest.raises(PolicyError) as info:
        load_policies(paths)
    return info.value.problems


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_policy_is_reported_at_its_line(tmp_path: Path, case: Case) -> None:
    paths, target = _write(tmp_path, case)
    problems = _problems(paths)
    # Only the case's file has problems: the starter set stays clean.
    assert {p.file for p in problems} == {str(target)}, problems
    wanted = [
        p for p in problems if (p.path or FILE_LEVEL) == case.path and case.fragment in p.message
    ]
    assert wanted, "\n".join(str(p) for p in problems)
    assert wanted[0].line == case.line, "\n".join(str(p) for p in problems)
    assert str(wanted[0]).startswith(f"{target}:{case.line}: {case.path}: ")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_command_prints_every_problem_and_exits_1(tmp_path: Path, case: Case) -> None:
    paths, target = _write(tmp_path, case)
    result = CliRunner().invoke(app, ["policy", "check", *map(str, paths)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{target}:{case.line}: {case.path}: " in result.stdout
    lines = [line for line in result.stdout.splitlines() if line]
    assert len(lines) == len(_problems(paths))


def test_every_problem_in_every_file_is_collected(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        rule_with("threshold: 2h", "threshold: soon").replace("severity", "x")
        + "---\nroles:\n  - name: r\n    members: []\n"
    )
    (tmp_path / "b.yml").write_text(
        "calendars:\n  - name: c\n    timezone: Nowhere/City\n    hours: {}\n"
    )
    (tmp_path / "c.yaml").write_text("")
    (tmp_path / "notes.txt").write_text("not a policy")
    problems = _problems([tmp_path])
    where = [(Path(p.file).name, p.line, p.path) for p in problems]
    # The broken rule is still cross-checked: nothing here defines what it names.
    assert where == [
        ("a.yaml", 4, "rules[0].journey"),
        ("a.yaml", 6, "rules[0].threshold"),
        ("a.yaml", 7, "rules[0].owner"),
        ("a.yaml", 8, "rules[0].escalation"),
        ("a.yaml", 14, "roles[0].members"),
        ("b.yml", 3, "calendars[0].timezone"),
        ("c.yaml", 1, ""),
    ]


def test_missing_and_unreadable_paths(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    unreadable = tmp_path / "dir.yaml"
    unreadable.mkdir()  # a directory named like a file: read_text fails
    problems = _problems([missing, empty_dir])
    assert [(p.file, p.line, p.path) for p in problems] == [
        (str(missing), 1, ""),
        (str(empty_dir), 1, ""),
    ]
    assert "no such file" in problems[0].message
    assert "no *.yaml" in problems[1].message
    result = CliRunner().invoke(app, ["policy", "check", str(missing)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{missing}:1: (file): no such file or directory")


def test_problem_format() -> None:
    problem = Problem("p.yaml", 7, "rules[0].threshold", "expected a duration")
    assert str(problem) == "p.yaml:7: rules[0].threshold: expected a duration"
    assert str(Problem("p.yaml", 1, "", "empty")) == "p.yaml:1: (file): empty"
    err = PolicyError([problem, problem])
    assert str(err) == f"{problem}\n{problem}"


def test_a_broken_item_is_not_also_reported_as_unknown(tmp_path: Path) -> None:
    # The role 'inventory' exists but is broken: rules naming it get no second problem.
    starter = tmp_path / "starter"
    shutil.copytree(EXAMPLES, starter)
    roles = starter / "roles.yaml"
    roles.write_text(roles.read_text().replace('phone: "+31612340001"', 'phone: "call me"'))
    problems = _problems([starter])
    assert len(problems) == 1, problems
    assert problems[0].path == "roles[0].members[0].phone"


def test_anchors_merge_keys_and_hidden_files(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "starter")
    (tmp_path / "more.yaml").write_text(
        "x-level: &level\n  response_time: 15m\n  channels: [slack]\n"
        "escalation_policies:\n  - name: anchored\n    levels:\n"
        "      - <<: *level\n        role: billing\n"
        "      - <<: *level\n        role: incident-leads\n        response_time: soon\n"
    )
    hidden = tmp_path / ".drafts"
    hidden.mkdir()
    (hidden / "broken.yaml").write_text("rules: [")
    (tmp_path / ".backup.yaml").write_text("rules: [")
    problems = _problems([tmp_path])
    assert [str(p).split(": expected")[0] for p in problems] == [
        f"{tmp_path / 'more.yaml'}:11: escalation_policies[0].levels[1].response_time"
    ]
    (tmp_path / "more.yaml").write_text(
        (tmp_path / "more.yaml").read_text().replace("response_time: soon", "response_time: 1h")
    )
    policy = load_policies([tmp_path]).escalation_policy("anchored")
    assert [(lvl.role, lvl.response_time.seconds) for lvl in policy.levels] == [
        ("billing", 900),
        ("incident-leads", 3600),
    ]
