"""`scorecard --sweep`: a rule scored over thresholds, and the pick for a goal, by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from detector_helpers import events, policy_set, rule

from escalator.detectors.sweep import default_values, parse_goal, parse_values, sweep

# Every case enters `waiting` at 10:00; all five are known; A, C, D, E are cancelled.
LOG = events(
    [
        ("A", "waiting", "2024-05-06T10:00:00Z"),
        ("A", "cancelled", "2024-05-06T14:00:00Z"),
        ("B", "waiting", "2024-05-06T10:00:00Z"),
        ("B", "shipped", "2024-05-06T13:00:00Z"),
        ("C", "created", "2024-05-06T10:00:00Z"),
        ("C", "cancelled", "2024-05-06T11:00:00Z"),
        ("D", "waiting", "2024-05-06T10:00:00Z"),
        ("D", "cancelled", "2024-05-06T11:00:00Z"),
        ("E", "waiting", "2024-05-06T10:00:00Z"),
        ("E", "cancelled", "2024-05-06T12:30:00Z"),
    ]
)
PS = policy_set(rule("stuck", "latency", state="waiting", threshold="2h"))
HOURS = [timedelta(hours=h) for h in (1, 2, 3, 4)]


def _run(goal: str | None) -> object:
    return sweep(LOG, PS, PS.journeys[0], PS.rule("stuck"), HOURS, goal=parse_goal(goal))


def test_each_threshold_scored_by_hand() -> None:
    result = sweep(LOG, PS, PS.journeys[0], PS.rule("stuck"), HOURS)
    got = {v: (s.firings, s.precision, s.recall, s.median_lead_time_s) for v, s in result.rows}
    # 1 h: A, B, E fire at 11:00 (D leaves at 11:00, on time): A 3 h ahead, E 1.5 h.
    # 2 h: A, B, E at 12:00. 3 h: only A is still waiting at 13:00. 4 h: nobody.
    assert got == {
        timedelta(hours=1): (3, pytest.approx(2 / 3), 0.5, pytest.approx(8100)),
        timedelta(hours=2): (3, pytest.approx(2 / 3), 0.5, pytest.approx(4500)),
        timedelta(hours=3): (1, 1.0, 0.25, pytest.approx(3600)),
        timedelta(hours=4): (0, None, 0.0, None),
    }
    assert all(s.base_rate == pytest.approx(0.8) for _, s in result.rows)
    assert result.parameter == "threshold" and result.current == timedelta(hours=2)


@pytest.mark.parametrize(
    ("goal", "want"),
    [
        ("precision>=0.6", timedelta(hours=1)),  # 1 h and 2 h qualify; 1 h warns earlier
        ("precision>=0.9", timedelta(hours=3)),
        ("precision>=0.6, lead_time>=1.5", timedelta(hours=1)),
        ("precision>=0.9,recall>=0.5", None),
    ],
)
def test_recommendation_for_a_goal(goal: str, want: timedelta | None) -> None:
    result = _run(goal)
    picked = result.recommended  # type: ignore[attr-defined]
    assert (picked[0] if picked else None) == want


def test_default_values_and_bad_input() -> None:
    assert default_values(PS.rule("stuck"))[:4] == [
        timedelta(minutes=30), timedelta(hours=1), timedelta(minutes=90), timedelta(hours=2)
    ]  # fmt: skip
    assert parse_values(PS.rule("stuck"), "1h, 90m") == [
        timedelta(hours=1), timedelta(minutes=90)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not a duration"):
        parse_values(PS.rule("stuck"), "soon")
    with pytest.raises(ValueError, match=r"cannot read 'precision=0\.6'"):
        parse_goal("precision=0.6")
    conf = policy_set(
        rule("path", "conformance", allowed_transitions={"created": ["shipped"]})
    ).rule("path")
    with pytest.raises(ValueError, match="no threshold to sweep"):
        default_values(conf)
