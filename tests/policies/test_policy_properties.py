"""Property test: mutated policy YAML ends in a policy set or in a PolicyError (the
documented error class, every problem as FILE:LINE: field: message), never in any other
exception. The number of inputs is printed in the run's summary ("property inputs")."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from property_counts import GENERATED, count

from escalator.policies.errors import PolicyError
from escalator.policies.loader import load_policies

POLICY = """\
journeys:
  - name: orders
    timezone: Europe/Amsterdam
    calendar: office
    events: [created, paid, shipped]
    slis:
      - {type: availability, name: shipped, valid_events: [created], good_events: [shipped], objective: 99}
      - {type: latency, name: fast, start_event: created, end_event: shipped, threshold: 1d, objective: 95}
calendars:
  - name: office
    timezone: Europe/Amsterdam
    hours: {mon: "09:00-17:00", tue: ["09:00-12:00", "13:00-17:00"]}
roles:
  - {name: ops, slack_channel: "#ops", members: [{name: ann, phone: "+31612345678"}]}
escalation_policies:
  - {name: ops-escalation, levels: [{role: ops, response_time: 15m}]}
rules:
  - name: unpaid
    kind: latency
    journey: orders
    owner: ops
    escalation: ops-escalation
    state: created
    threshold: 1h
    business_hours: true
    predicts: {description: not shipped in a day, not_reached: shipped, within: 1d}
    runbook: https://runbooks.example/unpaid
"""
KEY = "mutated policy YAML files loaded to a policy set or a PolicyError"
PIECES = [":", " ", "\n", "  ", "-", "[", "]", "{", "}", '"', "'", "#", "&a", "*a", "!!",
          "1h", "-5", "99.9", "null", "~", "\t", "\x00", "é", "name: x\n"]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = POLICY
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "dup", "cut", "swap"]))
        if op == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 30)) :]
        elif op == "dup":
            text = text[:at] + text[at : at + draw(st.integers(1, 60))] + text[at:]
        elif op == "cut":
            text = text[:at]
        elif lines := text.splitlines(keepends=True):  # an earlier cut may leave nothing
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    return text


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=mutated())
def _load_mutated(text: str) -> None:
    count(KEY)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_policies([path])
        except PolicyError as exc:
            assert exc.problems
            assert all(str(path) in str(p) for p in exc.problems), exc


def test_mutated_policy_yaml_ends_in_policies_or_a_policy_error() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(POLICY, encoding="utf-8")
        assert load_policies([path]).journeys[0].timezone == "Europe/Amsterdam"
    before = GENERATED.get(KEY, 0)
    _load_mutated()
    assert GENERATED[KEY] - before >= 150


def _problems_of(path: Path, text: str) -> list[str]:
    """The problems `load_policies` reports for ``text``; it must refuse it."""
    path.write_text(text, encoding="utf-8")
    try:
        load_policies([path])
    except PolicyError as exc:
        return [str(p) for p in exc.problems]
    raise AssertionError(f"loaded, but should have been refused:\n{text}")


def test_a_mapping_among_an_slis_events_is_a_policy_error(tmp_path: Path) -> None:
    """Found by the property test: the event-vocabulary check compared the placeholder of
    an invalid list item with the declared names (TypeError in difflib)."""
    path = tmp_path / "policy.yaml"
    broken = POLICY.replace("good_events: [shipped]", "good_events: [name: x\nshipped]", 1)
    assert broken != POLICY
    problems = _problems_of(path, broken)
    assert any("good_events" in p and str(path) in p for p in problems), problems


def test_a_journey_without_a_name_is_a_policy_error(tmp_path: Path) -> None:
    """Found by the property test: the predicted_breach check read a partial journey's name."""
    path = tmp_path / "policy.yaml"
    problems = _problems_of(path, POLICY.replace("  - name: orders\n", "  -\n", 1))
    assert any("name" in p and str(path) in p for p in problems), problems
