"""Scorecard: precision, recall, lead time and attention cost, computed by hand."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import polars as pl
import pytest
from detector_helpers import events, policy_set, rule, utc

from escalator.detectors.evaluate import evaluate
from escalator.detectors.scorecard import case_outcomes, score_rules
from escalator.detectors.scorecard_episodes import score_episodes
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
    # 4 of the 5 cases were cancelled anyway: the rule is worse than chance.
    assert score.base_rate == pytest.approx(4 / 5)
    assert score.lift == pytest.approx((2 / 3) / (4 / 5))
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
    # a and b are still open at the log's end (censored); c and z are two outcome
    # episodes. From 10:00 to 18:00 (480 min) a firing would be a hit in 09:50-10:50
    # clipped to 10:00 (50 min) and 17:00-18:00 (60 min); nothing in the last hour is
    # unknown (every moment there has z ahead or is z itself).
    assert (score.unit, score.known_cases, score.bad_cases, score.bad) == ("episode", 2, 2, 2)
    assert score.base_rate == pytest.approx(110 / 480)
    assert score.lift == pytest.approx(480 / 110)


def test_late_firings_and_open_cases_are_apart_from_hits_and_misses() -> None:
    log = events(
        [
            ("A", "waiting", "2024-05-06T10:00:00Z"),  # fires 12:00, cancelled 14:00: hit, 2 h
            ("A", "cancelled", "2024-05-06T14:00:00Z"),
            ("B", "waiting", "2024-05-06T10:00:00Z"),  # fires 12:00, shipped: false alarm
            ("B", "shipped", "2024-05-06T13:00:00Z"),
            ("C", "created", "2024-05-06T10:00:00Z"),  # bad, never fired: missed
            ("C", "cancelled", "2024-05-06T11:00:00Z"),
            ("D", "waiting", "2024-05-06T10:00:00Z"),  # cancelled before 2 h: missed
            ("D", "cancelled", "2024-05-06T11:00:00Z"),
            ("E", "waiting", "2024-05-06T10:00:00Z"),  # fires 12:00, cancelled 12:30: hit
            ("E", "cancelled", "2024-05-06T12:30:00Z"),
            ("F", "waiting", "2024-05-06T10:00:00Z"),  # complaint 11:00, fires 12:00: late
            ("F", "complaint", "2024-05-06T11:00:00Z"),
            ("F", "shipped", "2024-05-06T13:00:00Z"),
            ("G", "waiting", "2024-05-06T10:00:00Z"),  # fires 12:00, still open: censored
            ("H", "created", "2024-05-06T10:00:00Z"),  # good, never fired
            ("H", "shipped", "2024-05-06T11:00:00Z"),
        ]
    )
    outcome = {"description": "cancelled or complained", "events": ["cancelled", "complaint"]}
    ps = policy_set(
        rule(
            "stuck",
            "latency",
            state="waiting",
            threshold="2h",
            leave_events=["shipped", "cancelled"],
            predicts=outcome,
        )
    )
    journey = ps.journeys[0]
    [s] = score_rules(log, journey, evaluate(log, ps, journey))
    assert s.firings == 5
    assert (s.true_positives, s.late, s.false_positives, s.censored) == (2, 1, 1, 1)
    assert s.judged == 4  # hits + late + false alarms; G is not judged
    assert (s.known_cases, s.bad_cases) == (7, 5)  # G is unknown: left out of the base rate
    assert (s.bad, s.recalled, s.late_bad, s.missed) == (5, 2, 1, 2)
    assert s.base_rate == pytest.approx(5 / 7)
    assert s.precision == pytest.approx(2 / 4)  # the late firing is not a hit
    assert s.late_share == pytest.approx(1 / 4)
    assert s.recall == pytest.approx(2 / 5)  # ... nor does it count as recalled
    assert s.lift == pytest.approx(0.5 / (5 / 7))  # 0.7: worse than chance
    assert s.median_lead_time_s == pytest.approx(4500)
    # Wilson at 95 %: p = 1/2, n = 4 is symmetric around 1/2.
    z = 1.959963984540054
    half = z * math.sqrt(0.25 / 4 + z * z / 64) / (1 + z * z / 4)
    assert s.precision_ci == pytest.approx([0.5 - half, 0.5 + half])
    assert s.lift_ci == pytest.approx([(0.5 - half) * 7 / 5, (0.5 + half) * 7 / 5])
    lo, hi = s.recall_ci or [0, 0]
    assert lo < 2 / 5 < hi
    # 8 cases in one day, SLO 99 % over 28 d: budget 2.24; 5 firings a day.
    assert s.attention_cost == pytest.approx(5 * 28 / 2.24)
    assert s.false_alarm_cost == pytest.approx(1 * 28 / 2.24)


def _at(hhmm: str) -> datetime:
    return utc(f"2024-05-06T{hhmm}:00Z")


def _outcomes(breaches: list[str], good: int, censored: int) -> pl.DataFrame:
    rows: list[tuple[str, datetime | None, bool]]
    rows = [(f"b{i}", _at(b), False) for i, b in enumerate(breaches)]
    rows += [(f"g{i}", None, False) for i in range(good)]
    rows += [(f"c{i}", None, True) for i in range(censored)]
    return pl.DataFrame(
        rows,
        schema={"case_id": pl.String, "breach": pl.Datetime("us", "UTC"), "censored": pl.Boolean},
        orient="row",
    )


def _onsets(times: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"onset": [_at(t) for t in times]}).with_columns(
        pl.col("onset").dt.cast_time_unit("us")
    )


def test_aggregate_rules_are_judged_per_episode() -> None:
    # Outcome episodes with a 1 h horizon: 02:00-03:20 (three breaches, gaps <= 1 h),
    # 08:00, 12:00-12:40, 15:00, 23:30. Log from 00:00 to 24:00.
    breaches = ["02:00", "02:30", "03:20", "08:00", "12:00", "12:40", "15:00", "23:30"]
    onsets = ["01:30", "02:45", "07:00", "10:00", "12:10", "14:30", "23:40"]
    c = score_episodes(
        _onsets(onsets), _outcomes(breaches, good=2, censored=1), timedelta(hours=1),
        _at("00:00"), utc("2024-05-07T00:00:00Z"),
    )  # fmt: skip
    # 01:30, 07:00 (exactly 1 h ahead) and 14:30 are hits; 02:45 and 12:10 fire inside
    # an episode under way (late); 10:00 has nothing within 1 h (false alarm); 23:40
    # has nothing yet and its horizon ends after the log (censored).
    assert (c.hits, c.late, c.false_alarms, c.censored, c.judged) == (3, 2, 1, 1, 6)
    assert c.lead_s == pytest.approx(1800)  # median of 30, 60, 30 min
    # Five outcome episodes: three warned in time, 12:00 only caught late, 23:30 missed.
    assert (c.bad, c.recalled, c.late_bad, c.bad_cases, c.known_cases) == (5, 3, 1, 8, 10)
    # A firing is a hit from the hour before each episode: 5 h. Of the last hour,
    # 23:00-23:30 has 23:30 ahead; 23:30-24:00 is unknown. 5 h of 23.5 h known.
    assert c.base_rate == pytest.approx(5 / 23.5)


def test_one_lucky_window_counts_once() -> None:
    # 100 cases break in one burst just after a firing; three later bursts are missed.
    burst = [f"10:{m:02d}" for m in range(10, 60)] + [f"11:{m:02d}" for m in range(0, 50)]
    c = score_episodes(
        _onsets(["10:00"]), _outcomes([*burst, "14:00", "17:00", "20:00"], 0, 0),
        timedelta(hours=1), _at("00:00"), _at("23:00"),
    )  # fmt: skip
    # Counted by case this was 100 / 103; by outcome episode it is 1 of 4.
    assert (c.bad_cases, c.bad, c.recalled, c.late_bad) == (103, 4, 1, 0)
