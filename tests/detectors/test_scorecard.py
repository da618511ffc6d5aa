"""Scorecard: precision, recall, lead time and attention cost, computed by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from detector_helpers import events, policy_set, rule, utc

from escalator.detectors.evaluate import evaluate
from escalator.detectors.scorecard import case_outcomes, score_rules
from escalator.policies.rules import Outcome

LOG = events(
    [
        ("A", "waiting", "2024-05-06T10:00:00Z"),  # fires 12:00, cancelled 14:00: lead 2 h
        ("A", "cancelled", "2024-05-06T14:00:00Z"),
        ("B", "waiting", "2024-05-06T10:00:00Z"),  # fires 12:00, shipped: false alarm
        ("B", "shipped", "2024-05-06T13:00:00Z"),
        ("C", "created", "2024-05-06T10:00:00Z"),  # bad, never fired: missed
        ("C", "cancelled", "2024-05-06T11:00:00Z"),
        ("D", "waiting", "2024-05-06T10:00:00Z"),  # left the state before 2 h: missed
        ("D", "cancelled", "2024-05-06T11:00:00Z"),
        ("E", "waiting", "2024-05-06T10:00:00Z"),  # fires 12:00, cancelled 12:30: lead 30 min
        ("E", "cancelled", "2024-05-06T12:30:00Z"),
    ]
)


def test_case_rule_precision_recall_lead_time_and_cost() -> None:
    ps = policy_set(rule("stuck", "latency", state="waiting", threshold="2h"))
    journey = ps.journeys[0]
    [score] = score_rules(LOG, journey, evaluate(LOG, ps, journey))
    assert score.firings == 3
    assert (score.true_positives, score.false_positives, score.late) == (2, 1, 0)
    assert score.bad_cases == 4
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == pytest.approx(2 / 4)
    assert score.median_lead_time_s == pytest.approx(4500)  # median of 2 h and 30 min
    # One day of log (the minimum), 5 cases, SLO 99 % over 28 d:
    # budget = 0.01 * 5 * 28 = 1.4 bad cases; firings per window = 3 * 28 = 84.
    assert score.firings_per_day == pytest.approx(3)
    assert score.attention_cost == pytest.approx(84 / 1.4)
    assert score.false_alarm_cost == pytest.approx(28 / 1.4)


def test_not_reached_outcome_with_censoring() -> None:
    log = events(
        [
            ("A", "created", "2024-05-06T08:00:00Z"),
            ("A", "shipped", "2024-05-06T09:00:00Z"),  # within 2 h: good
            ("B", "created", "2024-05-06T08:00:00Z"),
            ("B", "shipped", "2024-05-06T11:00:00Z"),  # late: breach at 10:00
            ("C", "created", "2024-05-06T08:30:00Z"),  # never shipped: breach at 10:30
            ("D", "created", "2024-05-06T11:30:00Z"),  # deadline 13:30 after the log ends
            ("E", "created", "2024-05-06T11:45:00Z"),
            ("E", "cancelled", "2024-05-06T11:50:00Z"),  # known bad although not due yet
        ]
    )
    outcome = Outcome(
        description="late", events=["cancelled"], not_reached="shipped", within=timedelta(hours=2)
    )
    got = {
        r["case_id"]: (r["breach"], r["censored"])
        for r in case_outcomes(log, outcome, utc("2024-05-06T12:00:00Z")).to_dicts()
    }
    assert got == {
        "A": (None, False),
        "B": (utc("2024-05-06T10:00:00Z"), False),
        "C": (utc("2024-05-06T10:30:00Z"), False),
        "D": (None, True),
        "E": (utc("2024-05-06T11:50:00Z"), False),
    }


def test_window_rule_scored_by_breaches_within_its_horizon() -> None:
    rows = [
        ("a", "ok", "2024-05-06T10:00:00Z"),
        ("b", "failed", "2024-05-06T10:10:00Z"),
        ("c", "failed", "2024-05-06T10:20:00Z"),
    ]
    rows += [("c", "cancelled", "2024-05-06T10:50:00Z"), ("z", "cancelled", "2024-05-06T18:00:00Z")]
    log = events(rows)
    ps = policy_set(
        rule(
            "defects",
            "quality",
            defect_events=["failed"],
            valid_events=["ok", "failed"],
            window="1h",
            threshold=0.5,
            min_volume=2,
        )
    )
    journey = ps.journeys[0]
    [score] = score_rules(log, journey, evaluate(log, ps, journey))
    # One episode from 10:20; c breaches 30 min later (inside the 1 h horizon), z at
    # 18:00 is outside it: precision 1/1, recall 1/2, lead 30 min.
    assert (score.firings, score.precision, score.recall) == (1, 1.0, 0.5)
    assert score.median_lead_time_s == pytest.approx(1800)
