"""Flapping window rules: an episode that starts within the rule's reopen window of the
previous one clearing keeps its subject (one dedupe key, reopened), one that starts
after the condition stayed clear longer gets a subject of its own."""

from __future__ import annotations

from detector_helpers import events, policy_set, rule, utc

from escalator.detectors.evaluate import evaluate
from escalator.detectors.firing import Firing


def fire(ps, log, as_of: str | None = None) -> list[Firing]:
    [result] = evaluate(log, ps, ps.journeys[0], as_of=utc(as_of) if as_of else None)
    return result.firings()


def _bursts(*hours: str) -> list[tuple[str, str, str]]:
    """Two defects 5 minutes apart at each hour: fires at :05 (2 of 2), clears when the
    first slides out of the 1 h window (one event left, under min_volume), at :00 + 1 h."""
    rows = []
    for h in hours:
        rows += [(f"a{h}", "failed", f"2024-05-06T{h}:00:00Z")]
        rows += [(f"b{h}", "failed", f"2024-05-06T{h}:05:00Z")]
    return rows


def _quality(reopen_window: str) -> dict[str, object]:
    return rule(
        "defects",
        "quality",
        defect_events=["failed"],
        window="1h",
        threshold=0.5,
        min_volume=2,
        reopen_window=reopen_window,
    )


LOG = events(_bursts("10", "12", "14", "20"))


def test_quality_flapping_within_the_reopen_window_keeps_one_subject() -> None:
    # Clears 11:00, 13:00, 15:00; re-fires 12:05 and 14:05 (65 min clear): one episode.
    # 20:05 comes after 5 h clear, longer than the 2 h window: a new subject.
    fired = fire(policy_set(_quality("2h")), LOG)
    assert [(f.onset.isoformat(), f.subject) for f in fired] == [
        ("2024-05-06T10:05:00+00:00", "window@2024-05-06T10:05:00Z"),
        ("2024-05-06T12:05:00+00:00", "window@2024-05-06T10:05:00Z"),
        ("2024-05-06T14:05:00+00:00", "window@2024-05-06T10:05:00Z"),
        ("2024-05-06T20:05:00+00:00", "window@2024-05-06T20:05:00Z"),
    ]
    assert all(f.cleared_at is not None for f in fired[:3])  # the last holds at the end
    assert len({f.dedupe_key for f in fired}) == 2


def test_hysteresis_boundary_and_a_short_window() -> None:
    # Exactly the reopen window clear (65 min) still reopens, as the workflow's "<=".
    exact = fire(policy_set(_quality("65m")), LOG)
    assert [f.subject for f in exact][:3] == ["window@2024-05-06T10:05:00Z"] * 3
    # One minute less: every episode stayed clear long enough to be its own exception.
    short = fire(policy_set(_quality("64m")), LOG)
    assert len({f.subject for f in short}) == 4


def test_no_look_ahead_the_subject_only_depends_on_earlier_episodes() -> None:
    """Cut at 12:30 (second episode holding): it already carries the first one's subject,
    as the whole log says, so a watch raises the same key the backtest shows."""
    [first, second] = fire(policy_set(_quality("2h")), LOG, "2024-05-06T12:30:00Z")
    assert second.cleared_at is None
    assert second.subject == first.subject == "window@2024-05-06T10:05:00Z"


def _hourly(counts: dict[str, int]) -> list[tuple[str, str, str]]:
    return [
        (f"c{hour}{i}", "order", f"2024-05-06T{hour}:{5 * (i + 1):02d}:00Z")
        for hour, n in counts.items()
        for i in range(n)
    ]


def _volume(reopen_window: str) -> dict[str, object]:
    return rule(
        "surge",
        "volume",
        events=["order"],
        window="1h",
        factor=2,
        baseline_periods=2,
        min_count=3,
        reopen_window=reopen_window,
    )


def test_volume_spike_that_returns_reopens_its_episode() -> None:
    # Spikes in the 04:00 and 08:00 windows (6 against a baseline of 2: the 5th event,
    # at :25); the first clears at 06:00 (end of the calm 05:00 window), the second
    # starts 08:25: 2 h 25 min clear.
    counts = {"00": 2, "01": 2, "02": 2, "03": 2, "04": 6, "05": 2, "06": 2, "07": 2, "08": 6}
    log = events([*_hourly(counts), ("z", "other", "2024-05-06T11:30:00Z")])
    within = fire(policy_set(_volume("3h")), log)
    assert [(f.onset.isoformat(), f.subject) for f in within] == [
        ("2024-05-06T04:25:00+00:00", "window@2024-05-06T04:00:00Z"),
        ("2024-05-06T08:25:00+00:00", "window@2024-05-06T04:00:00Z"),
    ]
    assert within[0].cleared_at is not None
    assert within[0].cleared_at.isoformat() == "2024-05-06T06:00:00+00:00"
    apart = fire(policy_set(_volume("2h")), log)
    assert [f.subject for f in apart] == [
        "window@2024-05-06T04:00:00Z",
        "window@2024-05-06T08:00:00Z",
    ]
