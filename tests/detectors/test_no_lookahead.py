"""Backtests have no look-ahead: cutting the log at t and evaluating as of t gives exactly
the backtest's firings with onset <= t (and their clearing if it happened by t)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from detector_helpers import events, policy_set, rule
from event_logs import POLICIES, log_path

from escalator.detectors.evaluate import evaluate
from escalator.detectors.events import TS
from escalator.detectors.readers import read_log
from escalator.policies.loader import load_policies

NAMES = ["created", "waiting", "allocated", "paid", "failed", "shipped", "cancelled"]
RULES = [
    rule(
        "stuck", "latency", state="waiting", threshold="3h", leave_events=["allocated", "cancelled"]
    ),
    rule("stuck_bh", "latency", state="waiting", threshold="5h", business_hours=True),
    rule("defects", "quality", defect_events=["failed"], window="6h", threshold=0.2, min_volume=5),
    rule("incomplete", "completeness", gate_event="paid", required_attributes=["channel"]),
    rule(
        "deviates",
        "conformance",
        start_events=["created"],
        allowed_transitions={
            "created": ["waiting", "paid"],
            "waiting": ["allocated", "cancelled"],
            "allocated": ["paid"],
            "paid": ["shipped"],
        },
        precedence=[{"event": "shipped", "requires": "paid"}],
        response=[
            {"event": "created", "then": "shipped", "within": "1d"},
            {"event": "paid", "then": "shipped"},
        ],
    ),
    rule(
        "surge", "volume", window="1h", factor=2, direction="both", baseline_periods=3, min_count=3
    ),
    rule(
        "weekly",
        "volume",
        events=["created"],
        window="2h",
        factor=1.5,
        baseline="same_hour_of_week",
        baseline_periods=1,
        min_count=2,
    ),
]
CAL = {
    "name": "cal",
    "timezone": "Europe/Amsterdam",
    "hours": {d: "08:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "NL"},
}


def _random_log(seed: int):
    rng = random.Random(seed)
    start = datetime(2024, 3, 20, tzinfo=UTC)  # across the DST change and Easter
    rows, channels = [], []
    for c in range(120):
        t = start + timedelta(minutes=rng.randrange(0, 20 * 24 * 60))
        for _ in range(rng.randrange(1, 7)):
            rows.append((f"c{c}", rng.choice(NAMES), t.isoformat()))
            channels.append(rng.choice(["web", None]))
            t += timedelta(minutes=rng.choice([1, 5, 30, 90, 240, 600]))
    return events(rows, channel=channels)


def _key(f, t: datetime):
    cleared = f.cleared_at if f.cleared_at is not None and f.cleared_at <= t else None
    return (f.rule, f.subject, f.onset, cleared, tuple(f.evidence))


def _assert_no_lookahead(log, ps, journey, cuts: list[datetime]) -> int:
    full = [f for r in evaluate(log, ps, journey) for f in r.firings()]
    checked = 0
    for t in cuts:
        prefix = log.filter(log[TS] <= t)
        got = {_key(f, t) for r in evaluate(prefix, ps, journey, as_of=t) for f in r.firings()}
        want = {_key(f, t) for f in full if f.onset <= t}
        assert got == want, (t, sorted(got ^ want, key=str)[:5])
        checked += len(want)
    return checked


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_logs_every_rule_kind(seed: int) -> None:
    log = _random_log(seed)
    ps = policy_set(*RULES, calendar=CAL)
    assert all(r.frame.height > 0 for r in evaluate(log, ps, ps.journeys[0]))  # every kind fires
    rng = random.Random(seed)
    lo, hi = log[TS].min(), log[TS].max()
    cuts = [lo + (hi - lo) * rng.random() for _ in range(12)]
    cuts += [log[TS][i] for i in rng.sample(range(log.height), 6)]  # exactly at events
    assert _assert_no_lookahead(log, ps, ps.journeys[0], cuts) > 0


def test_helpdesk_log_prefixes() -> None:
    ps = load_policies([POLICIES / "helpdesk"])
    log = read_log(log_path("helpdesk"), ps.journeys[0]).events
    cuts = [
        datetime(2010, 6, 1, tzinfo=UTC),
        datetime(2011, 11, 15, 12, 30, tzinfo=UTC),
        datetime(2013, 2, 1, tzinfo=UTC),
    ]
    assert _assert_no_lookahead(log, ps, ps.journeys[0], cuts) > 100


def test_empty_log_fires_nothing() -> None:
    from escalator.detectors.events import empty_events

    ps = policy_set(*RULES, calendar=CAL)
    results = evaluate(empty_events(["channel"]), ps, ps.journeys[0])
    assert [r.frame.height for r in results] == [0] * len(RULES)
