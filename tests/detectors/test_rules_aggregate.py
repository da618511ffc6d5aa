"""Quality and volume rules on hand-made logs, onsets computed by hand."""

from __future__ import annotations

from datetime import datetime

from detector_helpers import events, policy_set, rule, utc

from escalator.detectors.evaluate import evaluate
from escalator.detectors.firing import Firing


def fire(ps, log, as_of: str | None = None) -> list[Firing]:
    [result] = evaluate(log, ps, ps.journeys[0], as_of=utc(as_of) if as_of else None)
    return result.firings()


def iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


QUALITY_LOG = events(
    [
        ("A", "ok", "2024-05-06T10:00:00Z"),
        ("B", "failed", "2024-05-06T10:10:00Z"),
        ("C", "failed", "2024-05-06T10:20:00Z"),
        ("D", "ok", "2024-05-06T11:30:00Z"),
    ]
)
QUALITY = rule(
    "defects", "quality", defect_events=["failed"], window="1h", threshold=0.5, min_volume=2
)


def test_quality_episode_onset_clear_and_evidence() -> None:
    # 10:10: 1 defect of 2 = 0.5, not above; 10:20: 2 of 3 fires. At 11:00 the 10:00
    # event slides out (2 of 2 still fires); at 11:10 only one event is left in the
    # window (below the minimum volume): cleared.
    [f] = fire(policy_set(QUALITY), QUALITY_LOG)
    assert f.subject == "window@2024-05-06T10:20:00Z"
    assert iso(f.onset) == "2024-05-06T10:20:00+00:00"
    assert iso(f.cleared_at) == "2024-05-06T11:10:00+00:00"
    assert f.evidence == [2, 3]
    assert f.detail["defects"] == 2 and f.detail["valid"] == 3


def test_quality_minimum_volume_and_as_of() -> None:
    assert fire(policy_set(QUALITY), QUALITY_LOG, "2024-05-06T10:19:59Z") == []
    [f] = fire(policy_set(QUALITY), QUALITY_LOG, "2024-05-06T10:30:00Z")
    assert f.cleared_at is None  # still holding as of 10:30
    high = rule(
        "defects", "quality", defect_events=["failed"], window="1h", threshold=0.5, min_volume=4
    )
    assert fire(policy_set(high), QUALITY_LOG) == []


def _hourly(counts: dict[str, int]) -> list[tuple[str, str, str]]:
    rows = []
    for hour, n in counts.items():
        for i in range(n):
            rows.append((f"c{hour}{i}", "order", f"2024-05-06T{hour}:{5 * (i + 1):02d}:00Z"))
    return rows


def test_volume_spike_onset_is_the_crossing_event() -> None:
    # Baseline for 10:00 = mean(2, 2) = 2; factor 2 -> more than 4: the 5th event.
    log = events([*_hourly({"08": 2, "09": 2, "10": 5}), ("z", "other", "2024-05-06T12:30:00Z")])
    ps = policy_set(
        rule(
            "surge",
            "volume",
            events=["order"],
            window="1h",
            factor=2,
            baseline_periods=2,
            min_count=3,
        )
    )
    [f] = fire(ps, log)
    assert f.subject == "window@2024-05-06T10:00:00Z"
    assert iso(f.onset) == "2024-05-06T10:25:00+00:00"
    # 11:00-12:00 has 0 orders (baseline 3.5): not a spike, and complete by 12:30.
    assert iso(f.cleared_at) == "2024-05-06T12:00:00+00:00"
    assert f.evidence == [5, 6, 7, 8, 9]
    assert f.detail["direction"] == "spike" and f.detail["baseline"] == 2.0
    assert fire(ps, log, "2024-05-06T10:24:59Z") == []


def test_volume_drop_is_known_at_the_window_end() -> None:
    log = events([*_hourly({"08": 4, "09": 4, "10": 1}), ("z", "other", "2024-05-06T11:30:00Z")])
    ps = policy_set(
        rule(
            "quiet",
            "volume",
            events=["order"],
            window="1h",
            factor=2,
            direction="drop",
            baseline_periods=2,
            min_count=2,
        )
    )
    [f] = fire(ps, log)
    assert iso(f.onset) == "2024-05-06T11:00:00+00:00"
    assert f.detail["direction"] == "drop" and f.detail["count"] == 1
    assert fire(ps, log, "2024-05-06T10:59:59Z") == []


def test_volume_same_hour_of_week_baseline() -> None:
    # Monday 6 May: 2 orders; Monday 13 May: 5 orders -> baseline 2 (last Monday),
    # factor 2 -> the 5th order. Tuesday 14 May has 1 order against last Tuesday's 0:
    # below min_count, no firing; Tuesday 7 May has no observed baseline week.
    rows = [
        ("a", "order", "2024-05-06T09:00:00Z"),
        ("b", "order", "2024-05-06T10:00:00Z"),
        *[(f"m{i}", "order", f"2024-05-13T0{i + 1}:00:00Z") for i in range(5)],
        ("t", "order", "2024-05-14T09:00:00Z"),
    ]
    ps = policy_set(
        rule(
            "surge",
            "volume",
            events=["order"],
            window="1d",
            factor=2,
            baseline="same_hour_of_week",
            baseline_periods=1,
            min_count=2,
        )
    )
    [f] = fire(ps, events(rows))
    assert f.subject == "window@2024-05-13T00:00:00Z"
    assert iso(f.onset) == "2024-05-13T05:00:00+00:00"
